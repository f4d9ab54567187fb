/**
 * The README's set-up command on brand-new Debian roots (debootstrap minbase + this host's
 * Node.js + the checkout), as a new user's first command runs on a fresh machine: the OS
 * packages, the podman probe, npm ci and the build all run for real in a chroot.
 * e2e/fixtures/fresh-root.sh does the work; this file checks what it printed and that the
 * root, its mounts and its processes are gone afterwards, whether set-up passed or not.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "./lib/harness.js";

const SCRIPT = path.join(ROOT, "e2e/fixtures/fresh-root.sh");
const roots = () => readdirSync("/var/tmp").filter((f) => f.startsWith("bootc-fresh-"));
const mountsUnderRoots = () => readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.includes("/var/tmp/bootc-fresh-"));
const before = roots();

const freshRoot = (release: string) =>
  execa("bash", [SCRIPT, release], { reject: false, all: true, env: { ...process.env, TMPDIR: "/var/tmp" } });

/** The lines set-up printed, in order: "setup: …" and the script's own "==> …" steps. */
const setupLines = (all: string) => all.split("\n").filter((l) => /^(setup|==>)/.test(l));

describe("scripts/setup.sh on a fresh Debian root", () => {
  afterAll(() => {
    expect(roots().filter((r) => !before.includes(r))).toEqual([]);
    expect(mountsUnderRoots()).toEqual([]);
  });

  it("Debian 12 (bookworm): installs the packages, finds the C virtiofsd inside qemu-system-common, builds; a second run changes nothing", async () => {
    const r = await freshRoot("bookworm");
    const lines = setupLines(String(r.all));
    expect(r.exitCode, String(r.all).slice(-4000)).toBe(0);
    const install = lines.find((l) => l.startsWith("setup: installing with apt:"));
    expect(install).toMatch(/podman .*qemu-system-x86 .*ovmf/);
    expect(install).not.toMatch(/\bvirtiofsd\b/); // there is no such package in Debian 12
    expect(lines).toContain("setup: host programs: all found (virtiofsd: /usr/lib/qemu/virtiofsd)");
    expect(lines).toContain("setup: building (npm run build)");
    expect(lines).toContain("==> set-up completed in a fresh bookworm root");
    const second = lines.slice(lines.indexOf("==> bash scripts/setup.sh again: it must find nothing to change"));
    expect(second).toContain("setup: OS packages: all present");
    expect(second.at(-1)).toBe("setup: nothing to change");
  });

  it("Debian 13 (trixie): installs the Rust virtiofsd package, builds; a second run changes nothing", async () => {
    const r = await freshRoot("trixie");
    const lines = setupLines(String(r.all));
    expect(r.exitCode, String(r.all).slice(-4000)).toBe(0);
    expect(lines.find((l) => l.startsWith("setup: installing with apt:"))).toMatch(/\bvirtiofsd\b/);
    expect(lines.find((l) => l.startsWith("setup: host programs: all found"))).toMatch(/virtiofsd: \/usr\/(libexec|bin)\/virtiofsd/);
    expect(lines).toContain("==> set-up completed in a fresh trixie root");
    expect(lines.at(-1)).toBe("setup: nothing to change");
  });

  it("removes the root when it cannot be made, and says why", async () => {
    const r = await freshRoot("no-such-release");
    expect(r.exitCode).not.toBe(0);
    expect(String(r.all)).toMatch(/no-such-release/);
    expect(roots().filter((x) => !before.includes(x))).toEqual([]);
  });
});
