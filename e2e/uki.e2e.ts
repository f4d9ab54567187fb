/**
 * Images that ship only a unified kernel image (UKI): a fixture made from the demo image —
 * its kernel, initramfs and a command line joined into one PE file with systemd's stub
 * (as ukify does), vmlinuz and initramfs.img removed — boots in ephemeral mode and in disk
 * mode (direct builder), the kernel and initramfs taken out of the UKI's sections.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootc, bootcJson, DEMO_IMAGE, makeHome, processesUsing, tempDir, watchImageMounts } from "./lib/harness.js";

const UKI_IMAGE = "localhost/bootc-demo-uki:e2e";
const home = makeHome();
const mounts = await watchImageMounts("uki.e2e.ts");
let kver = "";

beforeAll(async () => {
  const ctx = tempDir("bce-uki-");
  const rootfs = (await execa("podman", ["image", "mount", DEMO_IMAGE])).stdout.trim();
  try {
    kver = (await execa("ls", [path.join(rootfs, "usr/lib/modules")])).stdout.trim().split("\n")[0]!;
    const mod = path.join(rootfs, "usr/lib/modules", kver);
    // The command line a distribution's UKI would carry: its root is not the VM's.
    writeFileSync(path.join(ctx, "cmdline"), "root=UUID=00000000-dead-beef-0000-000000000000 ro console=ttyS0\0");
    await execa("objcopy", [
      "--add-section",
      `.cmdline=${path.join(ctx, "cmdline")}`,
      "--change-section-vma",
      ".cmdline=0x30000",
      "--add-section",
      `.linux=${path.join(mod, "vmlinuz")}`,
      "--change-section-vma",
      ".linux=0x2000000",
      "--add-section",
      `.initrd=${path.join(mod, "initramfs.img")}`,
      "--change-section-vma",
      ".initrd=0x4000000",
      "/usr/lib/systemd/boot/efi/linuxx64.efi.stub",
      path.join(ctx, "uki.efi"),
    ]);
  } finally {
    await execa("podman", ["image", "unmount", DEMO_IMAGE], { reject: false });
  }
  writeFileSync(
    path.join(ctx, "Containerfile"),
    `FROM ${DEMO_IMAGE}\nCOPY uki.efi /usr/lib/modules/${kver}/${kver}.efi\nRUN rm /usr/lib/modules/${kver}/vmlinuz /usr/lib/modules/${kver}/initramfs.img\n`,
  );
  await execa("podman", ["build", "--network=none", "-q", "-t", UKI_IMAGE, ctx]);
}, 300_000);

afterAll(async () => {
  for (const name of ["uki", "ukidisk"]) await bootc(home, ["rm", "--force", name]);
  await execa("podman", ["rmi", "--force", UKI_IMAGE], { reject: false });
  expect(processesUsing(home)).toEqual([]);
  expect(await mounts.left()).toEqual([]);
});

describe("a UKI-only image", () => {
  it("boots in ephemeral mode with the UKI's kernel and initramfs, and its command line less its root", async () => {
    const r = await bootc(home, ["run", "--name", "uki", "--memory", "1G", UKI_IMAGE]);
    expect(r.exitCode, String(r.all)).toBe(0);
    expect(String((await bootc(home, ["ssh", "uki", "--", "uname", "-r"])).stdout).trim()).toBe(kver);
    const vm = await bootcJson<{ kernel: string; qemuArgs: string[] }>(home, ["inspect", "uki"]);
    expect(vm.kernel).toBe(`/usr/lib/modules/${kver}/${kver}.efi (unified kernel image)`);
    const append = vm.qemuArgs[vm.qemuArgs.indexOf("-append") + 1]!;
    expect(append).toContain("root=virtiofs:rootfs");
    expect(append).not.toContain("dead-beef");
    await bootc(home, ["rm", "--force", "uki"]);
  }, 600_000);

  it("boots in disk mode: the direct builder takes the kernel and initramfs out of the UKI", async () => {
    const r = await bootc(home, ["run", "--name", "ukidisk", "--mode", "disk", "--disk-size", "2G", "--memory", "1G", UKI_IMAGE]);
    expect(r.exitCode, String(r.all)).toBe(0);
    expect(
      String((await bootc(home, ["ssh", "ukidisk", "--", "uname -r; findmnt -no SOURCE /"])).stdout)
        .trim()
        .split("\n"),
    ).toEqual([kver, "/dev/vda"]);
    await bootc(home, ["rm", "--force", "ukidisk"]);
  }, 900_000);
});
