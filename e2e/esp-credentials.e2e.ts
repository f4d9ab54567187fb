/**
 * Credentials on the EFI system partition (the esp transport, docs/macos.md): how a VM
 * manager without SMBIOS or fw_cfg (vfkit) hands the guest its SSH key. A GPT disk is made
 * here from the demo image, as a distribution's UKI-booting disk is: an ESP holding a
 * unified kernel image (the image's kernel, initramfs and a command line, joined with the
 * host's systemd-stub) at the removable-media path, and the image's root as an ext4
 * partition. `bootc run --disk FILE --credentials-via esp` writes the VM's credentials into
 * its overlay's ESP (loader/credentials/*.cred, null-key encrypted) and boots it with OVMF,
 * no SMBIOS credential on qemu's command line: the SSH key that reaches the guest this way
 * is what lets `bootc ssh` in. One boot.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootc, bootcJson, DEMO_IMAGE, makeHome, processesUsing, tempDir } from "./lib/harness.js";

const home = makeHome();
const NAME = "espc";
const ESP_SECTORS = 262144; // 128 MiB at sector 2048
const ROOT_LABEL = "bce-esp-root";
let disk = "";
let kver = "";

beforeAll(async () => {
  const dir = tempDir("bce-esp-");
  disk = path.join(dir, "uki-disk.raw");
  const rootfs = (await execa("podman", ["image", "mount", DEMO_IMAGE])).stdout.trim();
  try {
    kver = (await execa("ls", [path.join(rootfs, "usr/lib/modules")])).stdout.trim().split("\n")[0]!;
    const mod = path.join(rootfs, "usr/lib/modules", kver);
    writeFileSync(path.join(dir, "cmdline"), `root=LABEL=${ROOT_LABEL} rootfstype=ext4 rw console=ttyS0\0`);
    const uki = path.join(dir, "BOOTX64.EFI");
    const sections: Array<[string, string, string]> = [
      [".osrel", path.join(rootfs, "usr/lib/os-release"), "0x20000"],
      [".cmdline", path.join(dir, "cmdline"), "0x30000"],
      [".linux", path.join(mod, "vmlinuz"), "0x2000000"],
      [".initrd", path.join(mod, "initramfs.img"), "0x4000000"],
    ];
    await execa("objcopy", [
      ...sections.flatMap(([name, file, vma]) => ["--add-section", `${name}=${file}`, "--change-section-vma", `${name}=${vma}`]),
      "/usr/lib/systemd/boot/efi/linuxx64.efi.stub",
      uki,
    ]);
    // GPT: the ESP (FAT32), then the root. Written in place, no loop device.
    await execa("truncate", ["-s", "1600M", disk]);
    await execa("sfdisk", ["-q", disk], {
      input: `label: gpt\nstart=2048, size=${ESP_SECTORS}, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\nstart=${2048 + ESP_SECTORS}, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n`,
    });
    // One sector per cluster: FAT32 wants 65525 clusters at least, which 128 MiB of 4 KiB clusters is not (mtools then refuses to add directories).
    await execa("mkfs.fat", ["-F", "32", "-s", "1", "--offset", "2048", disk, String(ESP_SECTORS / 2)]);
    const mtools = { env: { MTOOLS_SKIP_CHECK: "1" } };
    await execa("mmd", ["-i", `${disk}@@1048576`, "::/EFI", "::/EFI/BOOT"], mtools);
    await execa("mcopy", ["-i", `${disk}@@1048576`, uki, "::/EFI/BOOT/BOOTX64.EFI"], mtools);
    const rootOffset = (2048 + ESP_SECTORS) * 512;
    await execa("mkfs.ext4", ["-q", "-F", "-L", ROOT_LABEL, "-d", rootfs, "-E", `offset=${rootOffset},root_owner=0:0`, disk, "1400M"]);
  } finally {
    await execa("podman", ["image", "unmount", DEMO_IMAGE], { reject: false });
  }
}, 300_000);

afterAll(async () => {
  await bootc(home, ["rm", "--force", NAME]);
  expect(processesUsing(home)).toEqual([]);
});

describe("credentials on the EFI system partition (--credentials-via esp)", () => {
  it("a UKI disk booted with OVMF gets its SSH key from loader/credentials on its ESP, with no SMBIOS credential", async () => {
    const t0 = Date.now();
    const r = await bootc(home, ["run", "--name", NAME, "--memory", "1G", "--disk", disk, "--credentials-via", "esp"]);
    expect(r.exitCode, String(r.all)).toBe(0);
    console.log(`esp credentials: run to SSH in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const s = await bootc(home, ["ssh", NAME, "--", "uname -r; ls /run/credentials/@encrypted/; findmnt -no SOURCE /"]);
    expect(s.exitCode, String(s.all)).toBe(0);
    const [uname, ...rest] = String(s.stdout).trim().split("\n");
    expect(uname).toBe(kver);
    // systemd-stub's cpio put it there, from the ESP; the root is the disk's partition.
    expect(rest).toContain("tmpfiles.extra");
    expect(rest[rest.length - 1]).toMatch(/^\/dev\/[vs]da2$/);
    const vm = await bootcJson<{ qemuArgs: string[]; credentialsVia: string }>(home, ["inspect", NAME]);
    expect(vm.credentialsVia).toBe("esp");
    expect(vm.qemuArgs.join(" ")).not.toMatch(/type=11|io\.systemd\.credentials/);
    // The user's file is never written: the credentials went into the VM's overlay.
    const again = await execa("mdir", ["-i", `${disk}@@1048576`, "::/"], { env: { MTOOLS_SKIP_CHECK: "1" } });
    expect(String(again.stdout)).not.toMatch(/loader/i);
  }, 900_000);
});
