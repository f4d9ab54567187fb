/**
 * Proof that the demo image boots with nothing but qemu and virtiofsd (the images issue's
 * baseline, before any engine is involved).
 */
import { readdirSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { DEMO_IMAGE } from "./lib/harness.js";
import { plainQemuBoot } from "./lib/plain-qemu.js";

async function imageKernelVersion(): Promise<string> {
  const rootfs = (await execa("podman", ["image", "mount", DEMO_IMAGE])).stdout.trim();
  try {
    return readdirSync(path.join(rootfs, "usr/lib/modules"))[0]!;
  } finally {
    await execa("podman", ["image", "unmount", DEMO_IMAGE], { reject: false });
  }
}

describe("the demo image under plain qemu", () => {
  it("boots from a virtiofs root with a volatile overlay and answers SSH with the injected key", async () => {
    const kver = await imageKernelVersion();
    // The image root's cache may trust itself (it is a read-only image mount): the boot is
    // a third shorter. The console stays verbose, to show the kernel's own lines.
    // One TCG thread: multi-threaded TCG panics Debian 13's kernel in about one boot in 25
    // (a stale translation of code the kernel live-patches: docs/engine.md), which plain qemu
    // does nothing about. The engine resets such a boot once (faults.e2e.ts tests that).
    const boot = await plainQemuBoot(DEMO_IMAGE, { cache: "always", accel: "tcg,thread=single", smp: 2 });
    expect(boot.serial).toContain("Linux version");
    expect(boot.serial).not.toMatch(/Kernel panic|Oops|BUG: |general protection fault|invalid opcode/);
    expect(boot.unameR, `no SSH answer; serial tail:\n${boot.serial.slice(-2000)}`).toBe(kver);
    console.log(`plain qemu: first serial byte ${boot.firstSerialByteMs} ms, ssh-ready ${boot.sshReadyMs} ms`);
    const left = await execa("pgrep", ["-f", "bce-plain-"], { reject: false });
    expect(left.stdout.trim(), "no qemu or virtiofsd left running").toBe("");
  });
});
