import { describe, expect, it } from "vitest";
import { firmwareCandidates, qemuShareFirmware } from "./tools.js";

describe("UEFI firmware places", () => {
  it("uses the distributions' OVMF and AAVMF on Linux", () => {
    expect(firmwareCandidates("x86_64", "linux", {})[0]).toEqual({ code: "/usr/share/OVMF/OVMF_CODE_4M.fd", vars: "/usr/share/OVMF/OVMF_VARS_4M.fd" });
    expect(firmwareCandidates("aarch64", "linux", {}).map((f) => f.code)).toEqual([
      "/usr/share/AAVMF/AAVMF_CODE.fd",
      "/usr/share/edk2/aarch64/QEMU_EFI-pflash.raw",
    ]);
  });

  it("uses the edk2 that Homebrew's qemu installs on macOS: HOMEBREW_PREFIX first, then Apple silicon's and Intel's prefixes", () => {
    expect(firmwareCandidates("aarch64", "darwin", {})).toEqual([
      { code: "/opt/homebrew/share/qemu/edk2-aarch64-code.fd", vars: "/opt/homebrew/share/qemu/edk2-arm-vars.fd" },
      { code: "/usr/local/share/qemu/edk2-aarch64-code.fd", vars: "/usr/local/share/qemu/edk2-arm-vars.fd" },
    ]);
    expect(firmwareCandidates("aarch64", "darwin", { HOMEBREW_PREFIX: "/Users/me/brew" })[0]!.code).toBe("/Users/me/brew/share/qemu/edk2-aarch64-code.fd");
    expect(firmwareCandidates("x86_64", "darwin", { HOMEBREW_PREFIX: "/usr/local" })).toHaveLength(2);
    expect(qemuShareFirmware("/usr/local", "x86_64")).toEqual({
      code: "/usr/local/share/qemu/edk2-x86_64-code.fd",
      vars: "/usr/local/share/qemu/edk2-i386-vars.fd",
    });
  });
});
