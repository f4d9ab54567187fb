/**
 * The README's set-up commands on brand-new Debian roots (debootstrap minbase + this host's
 * Node.js + the checkout), as a new user's first commands run on a fresh machine: the OS
 * packages, the podman probe, npm ci and the build all run for real in a chroot. In the
 * Debian 12 root the package's way comes first: `npm install -g` of the packed checkout,
 * then `bootc setup --check`, `--dry-run`, `bootc setup` and `--check` again.
 * e2e/fixtures/fresh-root.sh does the work; this file checks what it printed and that the
 * root, its mounts and its processes are gone afterwards, whether set-up passed or not.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT, tempDir } from "./lib/harness.js";

const SCRIPT = path.join(ROOT, "e2e/fixtures/fresh-root.sh");
const roots = () => readdirSync("/var/tmp").filter((f) => f.startsWith("bootc-fresh-"));
const mountsUnderRoots = () =>
  readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => l.includes("/var/tmp/bootc-fresh-"));
const before = roots();

const freshRoot = (release: string, ...args: string[]) =>
  execa("bash", [SCRIPT, release, ...args], { reject: false, all: true, env: { ...process.env, TMPDIR: "/var/tmp" } });

/** What `npm pack` makes of this checkout (built by the suite's set-up), as users install it; packed once. */
let packed: Promise<string> | undefined;
function pack(): Promise<string> {
  packed ??= (async () => {
    const dir = tempDir("bce-pack-");
    const r = await execa("npm", ["pack", "--json", "--pack-destination", dir], { cwd: ROOT });
    return path.join(dir, (JSON.parse(r.stdout) as Array<{ filename: string }>)[0]!.filename);
  })();
  return packed;
}

/** The lines from one "==> " step to the next. */
const section = (lines: string[], step: string) => {
  const from = lines.indexOf(`==> ${step}`);
  expect(from, `no step "${step}"`).toBeGreaterThanOrEqual(0);
  const to = lines.findIndex((l, i) => i > from && l.startsWith("==> "));
  return lines.slice(from + 1, to < 0 ? undefined : to);
};

/** The lines set-up printed, in order: "setup: …" and the script's own "==> …" steps. */
const setupLines = (all: string) => all.split("\n").filter((l) => /^(setup|==>)/.test(l));

describe("scripts/setup.sh on a fresh Debian root", () => {
  afterAll(() => {
    expect(roots().filter((r) => !before.includes(r))).toEqual([]);
    expect(mountsUnderRoots()).toEqual([]);
  });

  it(
    "Debian 12 (bookworm): the installed package's bootc setup --check lists what is missing, --dry-run changes nothing, bootc setup installs the packages and finds the C virtiofsd inside qemu-system-common; then the clone's set-up builds; a second run changes nothing",
    async () => {
      const r = await freshRoot("bookworm", await pack());
      const lines = setupLines(String(r.all));
      expect(r.exitCode, String(r.all).slice(-4000)).toBe(0);

      const check = section(lines, "bootc setup --check (from the installed package)");
      expect(check).toContain("setup: missing:");
      expect(check.find((l) => l.startsWith("setup:   - OS packages:"))).toMatch(/podman .*qemu-system-x86 .*ovmf/);
      expect(check.find((l) => l.startsWith("setup:   - programs not found:"))).toMatch(/\bpodman\b.*\bqemu-system-x86_64\b/);
      expect(lines).toContain("==> bootc setup --check exited 1");
      const dry = section(lines, "bootc setup --dry-run (from the installed package)");
      expect(dry).toContain("setup: would (dry run, nothing was changed):");
      expect(dry.find((l) => l.includes("install with apt:"))).toMatch(/podman .*qemu-system-x86 .*ovmf/);
      expect(lines).toContain("==> bootc setup --dry-run exited 0");

      // The dry run installed nothing: the real run finds the same packages missing.
      const real = section(lines, "bootc setup (from the installed package)");
      const install = real.find((l) => l.startsWith("setup: installing with apt:"));
      expect(install).toMatch(/podman .*qemu-system-x86 .*ovmf/);
      expect(install).not.toMatch(/\bvirtiofsd\b/); // there is no such package in Debian 12
      expect(real).toContain("setup: host programs: all found (virtiofsd: /usr/lib/qemu/virtiofsd)");
      expect(real).toContain("setup: bootc-console: an installed package, its web console prebuilt: nothing to build");
      expect(real).toContain("setup:   - created the probe image localhost/bootc-probe:latest");
      expect(lines).toContain("==> bootc setup --check exited 0");
      expect(lines.at(lines.lastIndexOf("==> bootc setup --check exited 0") - 1)).toBe("setup: nothing missing");

      // The clone's way on the same root: packages present, npm ci and the build.
      const clone = section(lines, "bash scripts/setup.sh (the README's set-up command), in the root");
      expect(clone).toContain("setup: OS packages: all present");
      expect(clone).toContain("setup: building (npm run build)");
      expect(lines).toContain("==> set-up completed in a fresh bookworm root");
      const second = section(lines, "bash scripts/setup.sh again: it must find nothing to change");
      expect(second).toContain("setup: OS packages: all present");
      expect(second.at(-1)).toBe("setup: nothing to change");
    },
    30 * 60_000,
  ); // two set-ups and an npm install -g: beyond the suite's 15 minutes on a busy 2-core host

  // The package's way only: the clone's npm ci and build are proven on Debian 12 above, and
  // a second Next.js build here would prove nothing more for the price of minutes.
  it("Debian 13 (trixie): the installed package's bootc setup installs the Rust virtiofsd package and finds it; a second run changes nothing", async () => {
    const r = await freshRoot("trixie", await pack(), "package-only");
    const lines = setupLines(String(r.all));
    expect(r.exitCode, String(r.all).slice(-4000)).toBe(0);
    const real = section(lines, "bootc setup (from the installed package)");
    expect(real.find((l) => l.startsWith("setup: installing with apt:"))).toMatch(/\bvirtiofsd\b/);
    expect(real.find((l) => l.startsWith("setup: host programs: all found"))).toMatch(/virtiofsd: \/usr\/(libexec|bin)\/virtiofsd/);
    expect(lines).toContain("==> bootc setup --check exited 0");
    expect(lines).toContain("==> set-up completed in a fresh trixie root");
    expect(section(lines, "bootc setup again: it must find nothing to change").at(-1)).toBe("setup: nothing to change");
  });

  it("removes the root when it cannot be made, and says why", async () => {
    const r = await freshRoot("no-such-release");
    expect(r.exitCode).not.toBe(0);
    expect(String(r.all)).toMatch(/no-such-release/);
    expect(roots().filter((x) => !before.includes(x))).toEqual([]);
  });
});
