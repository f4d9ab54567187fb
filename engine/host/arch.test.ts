import { describe, expect, it } from "vitest";
import {
  ARCH_PROFILES,
  guestAccel,
  guestArch,
  emulationNote,
  guestArchFlag,
  parsePlatform,
  platformOf,
  podmanArchName,
  vmArch,
  withGuestArch,
} from "./arch.js";

describe("guestArch", () => {
  it("maps podman's names to qemu's", () => {
    expect(guestArch("amd64", "x86_64")).toBe("x86_64");
    expect(guestArch("arm64", "x86_64")).toBe("aarch64");
    expect(podmanArchName("aarch64")).toBe("arm64");
    expect(podmanArchName("x86_64")).toBe("amd64");
  });

  it("runs an image that names no architecture as the host's", () => {
    expect(guestArch("", "aarch64")).toBe("aarch64");
  });

  it("lets --arch override the image, in either naming", () => {
    expect(guestArch("amd64", "x86_64", "arm64")).toBe("aarch64");
    expect(guestArch("arm64", "x86_64", "x86_64")).toBe("x86_64");
  });

  it("refuses an architecture it has no qemu profile for, in one sentence", () => {
    expect(() => guestArch("ppc64le", "x86_64")).toThrow(
      `the image's architecture "ppc64le" is not one bootc-console can boot (it boots amd64 and arm64 images)`,
    );
    expect(() => guestArch("amd64", "x86_64", "s390x")).toThrow(/^--arch s390x is not one/);
  });
});

describe("guestAccel", () => {
  it("keeps the host's accelerator for a native guest", () => {
    expect(guestAccel({ guest: "x86_64", host: "x86_64", chosen: "kvm", explicit: false })).toEqual({ accel: "kvm" });
  });

  it("never gives KVM or HVF to a foreign guest: TCG with a one-line note", () => {
    const g = guestAccel({ guest: "aarch64", host: "x86_64", chosen: "kvm", explicit: false });
    expect(g.accel).toBe("tcg");
    expect(g.note).toBe("arm64 guest on an amd64 host: emulated by qemu-system-aarch64 under TCG, several times slower than a native boot");
    expect(guestAccel({ guest: "x86_64", host: "aarch64", chosen: "hvf", explicit: false }).accel).toBe("tcg");
  });

  it("refuses an explicit KVM for a foreign guest", () => {
    expect(() => guestAccel({ guest: "aarch64", host: "x86_64", chosen: "kvm", explicit: true })).toThrow(/only TCG emulates another architecture/);
  });
});

describe("ARCH_PROFILES", () => {
  it("names Debian's AAVMF firmware from qemu-efi-aarch64 first for arm64 guests", () => {
    expect(ARCH_PROFILES.aarch64.firmware[0]).toEqual(["/usr/share/AAVMF/AAVMF_CODE.fd", "/usr/share/AAVMF/AAVMF_VARS.fd"]);
    expect(ARCH_PROFILES.aarch64.console).toBe("ttyAMA0");
  });
});

describe("parsePlatform", () => {
  it("takes the platforms podman names for amd64 and arm64, with a variant", () => {
    expect(parsePlatform("linux/arm64")).toEqual({ platform: "linux/arm64", arch: "aarch64" });
    expect(parsePlatform("linux/amd64")).toEqual({ platform: "linux/amd64", arch: "x86_64" });
    expect(parsePlatform("Linux/ARM64/v8")).toEqual({ platform: "linux/arm64/v8", arch: "aarch64" });
    expect(parsePlatform("linux/aarch64")).toEqual({ platform: "linux/arm64", arch: "aarch64" });
    expect(platformOf("aarch64")).toBe("linux/arm64");
  });

  it("refuses anything else in one sentence", () => {
    for (const bad of ["arm64", "linux/ppc64le", "windows/amd64", "linux/arm64/v8/x", "linux/arm64/x; rm", ""]) {
      expect(() => parsePlatform(bad), bad).toThrow(/is not a platform bootc-console can boot \(linux\/amd64 or linux\/arm64\)$/);
    }
  });
});

describe("guestArchFlag", () => {
  it("takes podman's and qemu's names and refuses others", () => {
    expect(guestArchFlag("arm64")).toBe("aarch64");
    expect(guestArchFlag("x86_64")).toBe("x86_64");
    expect(() => guestArchFlag("riscv64")).toThrow("--arch riscv64 is not one bootc-console can boot");
    expect(() => guestArchFlag("")).toThrow(/--arch ""/);
  });
});

describe("emulationNote", () => {
  it("speaks of a foreign image only", () => {
    expect(emulationNote("arm64", "x86_64")).toMatch(/^emulated \(slow\): an arm64 image on this amd64 host runs under qemu-system-aarch64 with TCG/);
    expect(emulationNote("amd64", "aarch64")).toMatch(/^emulated \(slow\): an amd64 image on this arm64 host runs under qemu-system-x86_64/);
    expect(emulationNote("amd64", "x86_64")).toBeUndefined();
    expect(emulationNote("", "x86_64")).toBeUndefined();
    expect(emulationNote("ppc64le", "x86_64")).toBeUndefined();
  });
});

describe("vmArch", () => {
  it("is the record's for a foreign guest, the host's for one that runs here, unknown on another libvirt host", () => {
    expect(vmArch({ arch: "aarch64" }, "x86_64")).toBe("arm64");
    expect(vmArch({}, "x86_64")).toBe("amd64");
    expect(vmArch({ connection: "qemu:///system" }, "aarch64")).toBe("arm64");
    expect(vmArch({ connection: "qemu+ssh://me@box/system" }, "x86_64")).toBeUndefined();
  });

  it("is added to a VM as guestArch (list --json, inspect, the web console), left out where unknown", () => {
    expect(withGuestArch({ name: "a", arch: "aarch64" as const }, "x86_64")).toEqual({ name: "a", arch: "aarch64", guestArch: "arm64" });
    // A local VM of the host's architecture: a record without arch or connection.
    const local: { name: string; arch?: "aarch64"; connection?: string } = { name: "b" };
    expect(withGuestArch(local, "x86_64")).toEqual({ name: "b", guestArch: "amd64" });
    expect(withGuestArch({ name: "c", connection: "qemu+ssh://me@box/system" }, "x86_64")).toEqual({ name: "c", connection: "qemu+ssh://me@box/system" });
  });
});
