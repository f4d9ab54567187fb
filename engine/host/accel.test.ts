import { describe, expect, it } from "vitest";
import { decideAccel, type AccelFacts } from "./accel.js";

const linux: AccelFacts = { platform: "linux", kvmDevice: "present", pvmOnly: false, hvfSupported: false };

describe("decideAccel", () => {
  it("uses KVM when /dev/kvm is usable", () => {
    expect(decideAccel(linux)).toMatchObject({ accel: "kvm", kvm: "usable" });
  });

  it("treats a PVM-only nested hypervisor as no usable KVM, and says why", () => {
    const c = decideAccel({ ...linux, pvmOnly: true });
    expect(c).toMatchObject({ accel: "tcg", kvm: "pvm-only" });
    expect(c.reason).toMatch(/PVM nested hypervisor/);
  });

  it("goes by the device, not the modules: kvm_pvm loaded without /dev/kvm is plain no-KVM", () => {
    const c = decideAccel({ ...linux, kvmDevice: "absent", pvmOnly: true });
    expect(c).toMatchObject({ accel: "tcg", kvm: "absent" });
    expect(c.reason).toMatch(/^no \/dev\/kvm/);
    expect(decideAccel({ ...linux, kvmDevice: "no-access", pvmOnly: true }).kvm).toBe("no-access");
  });

  it("falls back to TCG without /dev/kvm or without access to it", () => {
    expect(decideAccel({ ...linux, kvmDevice: "absent" })).toMatchObject({ accel: "tcg", kvm: "absent" });
    expect(decideAccel({ ...linux, kvmDevice: "no-access" }).reason).toMatch(/cannot open it .*bootc doctor/);
  });

  it("uses HVF on macOS when available", () => {
    expect(decideAccel({ ...linux, platform: "darwin", hvfSupported: true })).toMatchObject({ accel: "hvf", kvm: "n/a" });
    expect(decideAccel({ ...linux, platform: "darwin", hvfSupported: false }).accel).toBe("tcg");
  });

  it("honours an override, and rejects an unknown one", () => {
    expect(decideAccel({ ...linux, pvmOnly: true, override: "kvm" })).toMatchObject({ accel: "kvm", kvm: "pvm-only" });
    expect(() => decideAccel({ ...linux, override: "xen" })).toThrow(/unknown accelerator "xen"/);
  });
});
