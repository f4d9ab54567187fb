import { describe, expect, it } from "vitest";
import { decideAccel, decideTcgThreads, type AccelFacts } from "./accel.js";

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

describe("decideTcgThreads", () => {
  it("gives each vCPU a host thread when that many cores are idle", () => {
    expect(decideTcgThreads({ vcpus: 2, hostCores: 2, idle: 1.8 }).threads).toBe("multi");
    expect(decideTcgThreads({ vcpus: 2, hostCores: 8, idle: 2.5 }).threads).toBe("multi");
  });
  it("keeps one thread on a busy host, and says how busy", () => {
    const busy = decideTcgThreads({ vcpus: 2, hostCores: 2, idle: 0.3 });
    expect(busy.threads).toBe("single");
    expect(busy.reason).toMatch(/^one thread for 2 vCPUs: only 0\.3 of 2 host cores idle$/);
    expect(decideTcgThreads({ vcpus: 4, hostCores: 4, idle: 3.4 }).threads).toBe("single");
  });
  it("keeps one thread for one vCPU", () => {
    expect(decideTcgThreads({ vcpus: 1, hostCores: 16, idle: 16 }).threads).toBe("single");
  });
  it("takes BOOTC_TCG_THREADS, and refuses another value in one sentence", () => {
    expect(decideTcgThreads({ vcpus: 2, hostCores: 2, idle: 0, override: "multi" }).threads).toBe("multi");
    expect(() => decideTcgThreads({ vcpus: 2, hostCores: 2, idle: 2, override: "many" })).toThrow(/^BOOTC_TCG_THREADS="many" is not single or multi$/);
  });
});
