/**
 * An arm64 image on this x86_64 host (issue #26): the arm64 demo boots under
 * qemu-system-aarch64 (TCG) to SSH in disk mode (the direct builder's ext4 disk, the image's
 * kernel booted directly) and the guest says aarch64; then `bootc to-disk` of it boots with
 * plain qemu-system-aarch64 and AAVMF, no bootc-console involved. Its boot in ephemeral mode
 * (the kernel unpacked if it needs to be) is e2e/ui/arch.spec.ts's, from the boot dialog,
 * which checks it with the CLI too: one emulated boot fewer. The image comes from `bootc demo build --arch
 * arm64` (docs/architectures.md); without it the file is skipped. The export needs
 * systemd-boot's arm64 build on this host (scripts/setup.sh --tests installs
 * systemd-boot-efi:arm64), since the demo does not ship it.
 */
import { copyFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootc, bootcJson, DEMO_BANNER, makeHome, processesUsing, tempDir, waitUntil, watchImageMounts } from "./lib/harness.js";

const ARM64_IMAGE = "localhost/bootc-demo-arm64:latest";
const present = (await execa("podman", ["image", "exists", ARM64_IMAGE], { reject: false })).exitCode === 0;
const home = makeHome();
const mounts = await watchImageMounts("arm64.e2e.ts");

afterAll(async () => {
  await bootc(home, ["rm", "--force", "armdisk"]);
  expect(processesUsing(home)).toEqual([]);
  expect(await mounts.left()).toEqual([]);
});

describe.skipIf(!present)(`an arm64 image on x86_64 (needs ${ARM64_IMAGE})`, () => {
  it("is listed with its architecture, emulated", async () => {
    const images = await bootcJson<Array<{ names: string[]; arch: string; emulation?: string }>>(home, ["images", "--json"]);
    const arm = images.find((i) => i.names.includes(ARM64_IMAGE));
    expect(arm).toMatchObject({ arch: "arm64", emulation: expect.stringMatching(/^emulated \(slow\)/) });
    expect(images.find((i) => i.names.includes("localhost/bootc-demo:latest"))?.emulation).toBeUndefined();
  });

  it("refuses the install builder for it, in one sentence", async () => {
    const r = await bootc(home, ["run", "--name", "armi", "--mode", "disk", "--builder", "install", ARM64_IMAGE]);
    expect(r.exitCode).toBe(1);
    expect(String(r.all)).toContain("the install builder cannot make a disk of localhost/bootc-demo-arm64:latest, an arm64 image, on this amd64 host");
  });

  describe("in disk mode (the direct builder)", () => {
    let boot: Awaited<ReturnType<typeof bootc>>;
    beforeAll(async () => {
      boot = await bootc(home, ["run", "--name", "armdisk", "--mode", "disk", "--memory", "1G", "--timeout", "900", ARM64_IMAGE]);
    }, 1_500_000);
    // Gone before the export's boot below: an idle emulated guest still costs CPU.
    afterAll(async () => {
      await bootc(home, ["rm", "--force", "armdisk"]);
    });

    it("boots to SSH, emulated, and says so; the guest is aarch64 on its own disk", async () => {
      expect(boot.exitCode, String(boot.all)).toBe(0);
      expect(String(boot.all)).toMatch(/arm64 guest on an amd64 host: emulated by qemu-system-aarch64 under TCG/);
      expect(String((await bootc(home, ["ssh", "armdisk", "--", "uname", "-m"])).stdout).trim()).toBe("aarch64");
      expect(String((await bootc(home, ["ssh", "armdisk", "--", "findmnt", "-no", "SOURCE", "/"])).stdout).trim()).toBe("/dev/vda");
    });

    it("says so in list and inspect", async () => {
      const vm = await bootcJson<{ mode: string; arch: string; guestArch: string; accel: string; qemuArgs: string[] }>(home, ["inspect", "armdisk"]);
      expect(vm).toMatchObject({ mode: "disk", arch: "aarch64", guestArch: "arm64", accel: "tcg" });
      expect(vm.qemuArgs[0]).toBe("-name");
      expect(vm.qemuArgs[vm.qemuArgs.indexOf("-machine") + 1]).toBe("virt,gic-version=3");
      // The image's kernel, booted directly, with its console on the PL011 for the login.
      expect(vm.qemuArgs[vm.qemuArgs.indexOf("-append") + 1]).toMatch(/^console=hvc0 systemd\.wants=serial-getty@ttyAMA0\.service /);
      expect(String((await bootc(home, ["list"])).stdout)).toMatch(/armdisk\s+\S+\s+arm64 \(emulated\)\s+disk/);
    });
  });

  it("bootc to-disk of it writes a disk that boots with plain qemu-system-aarch64 and AAVMF to the login prompt", async () => {
    const out = tempDir("bce-arm64-export-");
    const file = path.join(out, "arm.qcow2");
    const r = await bootc(home, ["to-disk", "--json", ARM64_IMAGE, file]);
    expect(r.exitCode, String(r.all)).toBe(0);
    expect(JSON.parse(String(r.stdout))).toMatchObject({ file, format: "qcow2", builder: "direct" });

    const vars = path.join(out, "vars.fd");
    copyFileSync("/usr/share/AAVMF/AAVMF_VARS.fd", vars);
    // virt with GICv3, qemu's cheap pointer authentication and a 256 MiB translation cache, as bootc-console boots arm64
    // (docs/architectures.md): nothing of the disk depends on them, they only save minutes.
    const qemu = execa(
      "qemu-system-aarch64",
      [
        ...["-machine", "virt,gic-version=3", "-accel", "tcg,thread=single,tb-size=256", "-cpu", "max,pauth-impdef=on", "-smp", "2", "-m", "1024"],
        ...["-nodefaults", "-display", "none", "-serial", "stdio"],
        ...["-drive", "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/AAVMF/AAVMF_CODE.fd"],
        ...["-drive", `if=pflash,format=raw,unit=1,file=${vars}`],
        ...["-drive", `file=${file},format=qcow2,if=virtio,snapshot=on`],
      ],
      { reject: false, buffer: false, stdin: "ignore" },
    );
    let serial = "";
    qemu.stdout?.on("data", (d: Buffer) => (serial += d.toString()));
    try {
      await waitUntil(
        "the exported arm64 disk to boot to a login prompt",
        () => {
          const banner = serial.indexOf(DEMO_BANNER);
          return (banner >= 0 && serial.includes(" login:", banner)) || undefined;
        },
        900_000,
        1000,
      ).catch(() => {
        throw new Error(`the exported arm64 disk did not reach a login prompt; serial:\n${serial.slice(-2000)}`);
      });
      // systemd-boot (BOOTAA64.EFI) started the kernel through its EFI stub; the getty is on the PL011.
      expect(serial).toContain("EFI stub: Booting Linux Kernel");
      expect(serial).toMatch(/Debian GNU\/Linux \S+ \S+ ttyAMA0/);
    } finally {
      qemu.kill("SIGKILL");
      await qemu;
    }
  }, 1_200_000);
});
