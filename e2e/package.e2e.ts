/**
 * The package as users and other tools get it. Packed by `npm pack`, it carries the CLI, the
 * built web console and the engine's typed exports, and nothing of the sources or tests.
 * Installed as a user does (`npm install -g`, into an empty prefix, dependencies from the
 * registry or npm's cache), it runs `bootc setup` from its own copy of scripts/setup.sh and
 * serves the console with no build step: Chromium signs in and sees the Images page. In a
 * consumer project (the Podman Desktop extension), its exports map imports and
 * type-checks. And the monitor runs under the Node binary a host application names.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, chmodSync } from "node:fs";
import path from "node:path";
import { chromium } from "@playwright/test";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { makeHome, processesUsing, ROOT, tempDir } from "./lib/harness.js";
import { openPrintedLink, serve } from "./lib/api.js";

const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string>; devDependencies: Record<string, string> };
let tarball = "";
beforeAll(async () => {
  const dir = tempDir("bce-pack-");
  const r = await execa("npm", ["pack", "--json", "--pack-destination", dir], { cwd: ROOT });
  tarball = path.join(dir, (JSON.parse(r.stdout) as Array<{ filename: string }>)[0]!.filename);
});

/** The files a tarball holds, without the leading "package/". */
const tarFiles = () =>
  execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" })
    .split("\n")
    .filter((f) => f && !f.endsWith("/"))
    .map((f) => f.replace(/^package\//, ""));

describe("the npm package", () => {
  const consumer = tempDir("bce-consumer-");

  it("packs the CLI, dist/ with its type declarations, the built console without Next's cache, setup.sh and the docs; no sources, tests or install scripts", () => {
    const files = tarFiles();
    expect(files).toEqual(
      expect.arrayContaining([
        "bin/bootc",
        "dist/bundle/bootc.cjs",
        "dist/bundle/launch.cjs",
        "bin/package.json",
        "dist/engine/runtime/direct/main.js",
        "dist/engine/index.js",
        "dist/engine/index.d.ts",
        "dist/server/api/router.d.ts",
        "dist/server/cli/setup.js",
        "dist/engine/demo/recipe.sh",
        "docs/api.md",
        ".next/BUILD_ID",
        "next.config.js",
        "scripts/setup.sh",
        "README.md",
        "CHANGELOG.md",
        "LICENSE",
      ]),
    );
    expect(files.some((f) => f.startsWith(".next/static/"))).toBe(true);
    expect(files.some((f) => f.startsWith(".next/server/app/"))).toBe(true);
    expect(
      files.filter((f) =>
        /\.test\.|^e2e\/|^app\/|^engine\/|^server\/|^\.next\/(cache|types|diagnostics|trace)|^\.next\/.*\.map$|^package-lock\.json$|^scripts\/test\.sh$/.test(
          f,
        ),
      ),
    ).toEqual([]);
    expect(Object.keys(pkg.scripts).filter((s) => /^(pre|post)?install$|^prepare$/.test(s))).toEqual([]);
  });

  it("installs into a consumer project whose imports of bootc-console/engine and …/server/api/router work and type-check", async () => {
    const modules = path.join(consumer, "node_modules");
    mkdirSync(path.join(modules, "bootc-console"), { recursive: true });
    execFileSync("tar", ["-xzf", tarball, "-C", path.join(modules, "bootc-console"), "--strip-components=1"]);
    // Its dependencies come from this checkout's node_modules (no network for npm install).
    for (const dep of readdirSync(path.join(ROOT, "node_modules"))) {
      if (dep !== ".bin" && !existsSync(path.join(modules, dep))) symlinkSync(path.join(ROOT, "node_modules", dep), path.join(modules, dep));
    }
    writeFileSync(path.join(consumer, "package.json"), JSON.stringify({ name: "consumer", type: "module", private: true }));
    writeFileSync(
      path.join(consumer, "index.ts"),
      [
        'import { Engine, enginePaths, WatchLoop, buildImage, listDisks, translateKickstart, BootcError, type DiskInfo, type VmRecord, type RunOptions } from "bootc-console/engine";',
        'import type { AppRouter } from "bootc-console/server/api/router";',
        "const paths = enginePaths();",
        'const engine = new Engine(paths, { node: "/usr/bin/node" });',
        'const options: RunOptions = { image: "localhost/bootc-demo", cloudInit: { transport: "imds", dir: "/seed" } };',
        "const disks: DiskInfo[] = await listDisks(paths);",
        'type Run = AppRouter["vms"]["run"];',
        "export const used = [engine, options, disks, WatchLoop, buildImage, translateKickstart, BootcError] as const;",
        "export type Used = [Run, VmRecord];",
        "",
      ].join("\n"),
    );
    writeFileSync(
      path.join(consumer, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, skipLibCheck: true },
      }),
    );
    const tsc = await execa(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", consumer], { reject: false });
    expect(tsc.exitCode, tsc.stdout).toBe(0);
    const run = await execa(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        'const e = await import("bootc-console/engine"); const r = await import("bootc-console/server/api/router"); console.log(typeof e.Engine, typeof e.WatchLoop, typeof e.buildImage, Object.keys(r.appRouter._def.procedures).includes("meta.version"))',
      ],
      { cwd: consumer, reject: false },
    );
    expect(run.stdout, run.stderr).toBe("function function function true");
  });
});

describe("installed as a user installs it: npm install -g into an empty prefix", () => {
  const prefix = tempDir("bce-prefix-");
  const bin = path.join(prefix, "bin/bootc");
  const installed = path.join(prefix, "lib/node_modules/bootc-console");
  const env = { ...process.env, PATH: `${path.join(prefix, "bin")}:${process.env.PATH}` };
  let installedBytes = 0;

  beforeAll(async () => {
    // Dependencies as a user gets them, from npm's cache where `npm ci` left them (the
    // registry only for what the cache lacks: npm ci stores no package metadata).
    const install = () =>
      execa("npm", ["install", "-g", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", tarball], {
        all: true,
        reject: false,
        timeout: 240_000,
      });
    let r = await install();
    // npm 11 once hung here for good after reading every tarball from its cache, no socket
    // open (a suite run of 2026-12-05; it takes seconds otherwise): a user would try again,
    // and so does this, from an empty prefix.
    if (r.timedOut) {
      rmSync(prefix, { recursive: true, force: true });
      mkdirSync(prefix);
      r = await install();
    }
    expect(r.exitCode, r.all).toBe(0);
    const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
    installedBytes = Number(execFileSync("du", ["-sb", installed], { encoding: "utf8" }).split("\t")[0]);
    console.log(`package: ${mib(statSync(tarball).size)} packed; installed with its dependencies: ${mib(installedBytes)}`);
  });

  it("holds no dev dependency (typescript aside: @trpc/server asks for it as a peer, and npm installs peers), not the UI's libraries (they are in the build), and has a reasonable size", () => {
    const present = (name: string) => existsSync(path.join(installed, "node_modules", name));
    expect(Object.keys(pkg.devDependencies).filter((d) => d !== "typescript" && present(d))).toEqual([]);
    expect(["@patternfly/react-core", "@xterm/xterm", "@trpc/client"].filter(present)).toEqual([]);
    expect(present("next") && present("react") && present("react-dom")).toBe(true);
    expect(statSync(tarball).size).toBeLessThan(5 * 2 ** 20);
    // Next.js with its native builds is most of it (about 300 MiB); the UI's libraries would add 250.
    expect(installedBytes).toBeLessThan(450 * 2 ** 20);
  });

  it("bootc --version prints the package's version: the bundled CLI finds package.json from its chunks", async () => {
    const r = await execa(bin, ["--version"], { env, reject: false });
    expect(r.stdout, r.stderr).toBe((JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string }).version);
  });

  it("bootc setup --check passes on this set-up host", async () => {
    const r = await execa(bin, ["setup", "--check"], { env, all: true, reject: false });
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toContain("setup: OS packages: all present");
    expect(r.all).toContain("setup: bootc-console: an installed package, its web console prebuilt: nothing to build");
    expect(String(r.all).split("\n").at(-1)).toBe("setup: nothing missing");
  });

  it("bootc setup --check with a PATH lacking qemu fails and names what is missing", async () => {
    // Every program on PATH but qemu's, through a directory of links.
    const dir = tempDir("bce-noqemu-");
    for (const d of (env.PATH ?? "").split(":")) {
      for (const name of existsSync(d) ? readdirSync(d) : []) {
        if (!name.startsWith("qemu-") && !existsSync(path.join(dir, name))) symlinkSync(path.join(d, name), path.join(dir, name));
      }
    }
    const r = await execa(bin, ["setup", "--check"], { env: { ...env, PATH: dir }, all: true, reject: false });
    expect(r.exitCode, r.all).toBe(1);
    expect(r.stderr).toContain("setup: missing:");
    expect(r.stderr).toMatch(/^setup: {3}- programs not found, although their packages are installed: qemu-system-\S+ qemu-img$/m);
  });

  it("bootc setup --dry-run finds nothing to do on this set-up host", async () => {
    const r = await execa(bin, ["setup", "--dry-run"], { env, all: true, reject: false });
    expect(r.exitCode, r.all).toBe(0);
    expect(String(r.all).split("\n").at(-1)).toBe("setup: nothing to change");
  });

  it("bootc serve serves the console with no build step: Chromium signs in and sees the Images page; nothing is written into the package", async () => {
    // Everything of the package's own (its dependencies aside), with sizes and times.
    const listing = () =>
      execFileSync("find", [installed, "-path", `${installed}/node_modules`, "-prune", "-o", "-printf", "%p %s %T@\\n"], { encoding: "utf8" })
        .split("\n")
        .sort();
    const before = listing();
    const home = makeHome();
    const served = await serve(home, [], (args) => execa(bin, args, { env: { ...env, BOOTC_HOME: home }, reject: false, buffer: false }));
    const browser = await chromium.launch({
      executablePath: process.env.BOOTC_CHROMIUM ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
    try {
      const page = await browser.newPage();
      await openPrintedLink(page, served);
      await page.getByRole("heading", { name: "Images" }).waitFor();
      await page.getByRole("link", { name: "Virtual machines" }).waitFor();
    } finally {
      await browser.close();
      await served.stop();
    }
    expect(processesUsing(home)).toEqual([]);
    expect(listing()).toEqual(before);
  });
});

describe("the monitor's Node binary", () => {
  it("is the one the host application names, not process.execPath (inside Electron that is the app)", async () => {
    const dir = tempDir("bce-node-");
    const marker = path.join(dir, "ran");
    const wrapper = path.join(dir, "my-node");
    writeFileSync(wrapper, `#!/bin/sh\necho "$@" > ${marker}\nexec ${process.execPath} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const home = tempDir("bce-");
    mkdirSync(path.join(home, "state/vms/nosuchvm"), { recursive: true });
    const { startMonitor } = await import("../dist/engine/runtime/direct/launch.js");
    startMonitor("nosuchvm", { state: path.join(home, "state"), cache: path.join(home, "cache"), runtime: path.join(home, "run") }, wrapper);
    const started = await new Promise<string>((resolve) => {
      const poll = setInterval(() => existsSync(marker) && (clearInterval(poll), resolve(readFileSync(marker, "utf8"))), 50);
    });
    expect(started).toMatch(/dist\/engine\/runtime\/direct\/main\.js nosuchvm/);
  });
});
