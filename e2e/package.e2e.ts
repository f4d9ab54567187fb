/**
 * The engine as other tools consume it (the Podman Desktop extension): the package that
 * `npm pack` makes, installed into a consumer project, imports and type-checks through its
 * exports map; and the monitor runs under the Node binary a host application names.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync, chmodSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { ROOT, tempDir } from "./lib/harness.js";

describe("the npm package", () => {
  const consumer = tempDir("bce-consumer-");

  it("packs dist/ with its type declarations, the CLI and the docs, and no tests", async () => {
    const r = await execa("npm", ["pack", "--dry-run", "--json"], { cwd: ROOT });
    const files = (JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(["bin/bootc", "dist/engine/index.js", "dist/engine/index.d.ts", "dist/server/api/router.d.ts", "dist/engine/demo/recipe.sh", "docs/api.md"]));
    expect(files.filter((f) => /\.test\.|^e2e\/|^app\//.test(f))).toEqual([]);
  });

  it("installs into a consumer project whose imports of bootc-console/engine and …/server/api/router work and type-check", async () => {
    const packDir = tempDir("bce-pack-");
    const r = await execa("npm", ["pack", "--json", "--pack-destination", packDir], { cwd: ROOT });
    const tarball = path.join(packDir, (JSON.parse(r.stdout) as Array<{ filename: string }>)[0]!.filename);
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
        "type Run = AppRouter[\"vms\"][\"run\"];",
        "export const used = [engine, options, disks, WatchLoop, buildImage, translateKickstart, BootcError] as const;",
        "export type Used = [Run, VmRecord];",
        "",
      ].join("\n"),
    );
    writeFileSync(path.join(consumer, "tsconfig.json"), JSON.stringify({ compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, skipLibCheck: true } }));
    const tsc = await execa(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", consumer], { reject: false });
    expect(tsc.exitCode, tsc.stdout).toBe(0);
    const run = await execa(process.execPath, ["--input-type=module", "-e", 'const e = await import("bootc-console/engine"); const r = await import("bootc-console/server/api/router"); console.log(typeof e.Engine, typeof e.WatchLoop, typeof e.buildImage, Object.keys(r.appRouter._def.procedures).includes("meta.version"))'], { cwd: consumer, reject: false });
    expect(run.stdout, run.stderr).toBe("function function function true");
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
