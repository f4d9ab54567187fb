import { describe, expect, it } from "vitest";
import { isBootcError } from "../core/errors.js";
import { parseRunOptions } from "../core/schema.js";
import { warmKey, type WarmSpec } from "../disk/warm-cache.js";
import { checkWarmOptions } from "./warm.js";

const refusal = (input: Record<string, unknown>) => {
  try {
    checkWarmOptions(parseRunOptions({ image: "localhost/x", warm: true, ...input }));
  } catch (e) {
    return isBootcError(e) ? e.message : String(e);
  }
  return "ok";
};

describe("checkWarmOptions", () => {
  it("takes a one-shot (--rm) and refuses what a resumed guest cannot honour, in one sentence", () => {
    expect(refusal({ removeOnStop: true })).toBe("ok");
    expect(refusal({ removeImageOnStop: true })).toBe("ok");
    expect(refusal({})).toMatch(/^--warm is for one-shot VMs/);
    expect(refusal({ removeOnStop: true, binds: [{ host: "/tmp", guest: "/mnt", readOnly: true }] })).toMatch(/virtiofs shares cannot be saved/);
    expect(refusal({ removeOnStop: true, kickstart: "/tmp/x.ks" })).toMatch(/--ks would not be applied/);
    expect(refusal({ removeOnStop: true, password: "pw" })).toMatch(/--password would not be applied/);
  });
});

describe("warmKey", () => {
  const spec: WarmSpec = {
    base: "b".repeat(24),
    cpus: 2,
    memoryMiB: 1024,
    accel: "tcg",
    sshUser: "root",
    kargs: [],
    allowHostLoopback: false,
    autologin: false,
    qemu: "/usr/bin/qemu-system-x86_64:1:2",
  };
  it("changes with anything that shapes the saved guest or the qemu that loads it, and nothing else", () => {
    const k = warmKey(spec);
    expect(k).toMatch(/^[0-9a-f]{24}$/);
    expect(warmKey({ ...spec })).toBe(k);
    for (const change of [
      { base: "c".repeat(24) },
      { memoryMiB: 2048 },
      { cpus: 1 },
      { kargs: ["quiet"] },
      { qemu: "/usr/bin/qemu-system-x86_64:1:3" },
      { accel: "kvm" },
      { q35DevicesOff: ["sata", "smbus", "i8042", "vmport"] },
    ])
      expect(warmKey({ ...spec, ...change })).not.toBe(k);
  });
});
