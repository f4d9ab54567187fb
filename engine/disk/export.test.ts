import { describe, expect, it } from "vitest";
import { loaderEntry, partitionScript, systemdBootCandidates } from "./export.js";

describe("an exported direct-built disk's ESP, per architecture", () => {
  it("boots systemd-boot as the removable-media loader of the guest's architecture, the image's own first", () => {
    expect(systemdBootCandidates("aarch64", "/run/img")).toEqual({
      files: ["/run/img/usr/lib/systemd/boot/efi/systemd-bootaa64.efi", "/usr/lib/systemd/boot/efi/systemd-bootaa64.efi"],
      removablePath: "::/EFI/BOOT/BOOTAA64.EFI",
    });
    expect(systemdBootCandidates("x86_64")).toEqual({ files: ["/usr/lib/systemd/boot/efi/systemd-bootx64.efi"], removablePath: "::/EFI/BOOT/BOOTX64.EFI" });
  });

  it("puts the serial console the guest's architecture has in the loader entry", () => {
    expect(loaderEntry("u-1", "img")).toContain("rootfstype=ext4 rw console=tty0 console=ttyS0\n");
    expect(loaderEntry("u-1", "img", "aarch64")).toBe(
      "title img\nlinux /vmlinuz\ninitrd /initramfs.img\noptions root=PARTUUID=u-1 rootfstype=ext4 rw console=tty0 console=ttyAMA0\n",
    );
  });

  it("lays out the ESP before the root", () => {
    expect(partitionScript(100, "u-1")).toContain("start=129MiB, size=100MiB");
  });
});
