/**
 * An arm64 image on this x86_64 host (issue #26): the arm64 demo boots in ephemeral mode
 * under qemu-system-aarch64 (TCG), its kernel unpacked if it needs to be, to SSH, and the
 * guest says aarch64. One boot: emulated arm64 is several times slower than the x86_64 demo.
 * The image is built by hand until `bootc demo build --arch arm64` exists (docs/architectures.md).
 */
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { bootc, bootcJson, makeHome, processesUsing, watchImageMounts } from "./lib/harness.js";

const ARM64_IMAGE = "localhost/bootc-demo-arm64:latest";
const present = (await execa("podman", ["image", "exists", ARM64_IMAGE], { reject: false })).exitCode === 0;
const home = makeHome();
const mounts = await watchImageMounts("arm64.e2e.ts");

afterAll(async () => {
  await bootc(home, ["rm", "--force", "arm"]);
  expect(processesUsing(home)).toEqual([]);
  expect(await mounts.left()).toEqual([]);
});

describe.skipIf(!present)(`an arm64 image on x86_64 (needs ${ARM64_IMAGE})`, () => {
  it("boots in ephemeral mode, emulated, to SSH; the guest is aarch64", async () => {
    const r = await bootc(home, ["run", "--name", "arm", "--memory", "1G", "--timeout", "900", ARM64_IMAGE]);
    expect(r.exitCode, String(r.all)).toBe(0);
    expect(String(r.all)).toMatch(/arm64 guest on an amd64 host: emulated by qemu-system-aarch64 under TCG/);
    expect(String((await bootc(home, ["ssh", "arm", "--", "uname", "-m"])).stdout).trim()).toBe("aarch64");
    const vm = await bootcJson<{ accel: string; qemuArgs: string[] }>(home, ["inspect", "arm"]);
    expect(vm.accel).toBe("tcg");
    expect(vm.qemuArgs[0]).toBe("-name");
    expect(vm.qemuArgs[vm.qemuArgs.indexOf("-machine") + 1]).toBe("virt,accel=tcg,gic-version=3");
    expect(vm.qemuArgs[vm.qemuArgs.indexOf("-append") + 1]).toMatch(/^console=ttyAMA0 /);
  }, 1_200_000);

  it("refuses it in disk mode, in one sentence", async () => {
    const r = await bootc(home, ["run", "--name", "armdisk", "--mode", "disk", ARM64_IMAGE]);
    expect(r.exitCode).toBe(1);
    expect(String(r.all)).toContain("disk mode cannot boot another architecture yet");
  });
});
