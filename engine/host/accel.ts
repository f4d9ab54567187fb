/**
 * Choosing the accelerator. KVM on Linux, HVF on macOS, TCG otherwise; always overridable
 * with --accel or BOOTC_ACCEL. A /dev/kvm provided by a PVM nested hypervisor
 * (kvm_pvm loaded) cannot run ordinary guest kernels — they hang early in boot — so it
 * counts as "no usable KVM". `decideAccel` is pure so each case is unit-tested.
 */
import { accessSync, constants, existsSync } from "node:fs";
import { execa } from "execa";
import { BootcError } from "../core/errors.js";
import { ACCELS } from "../core/schema.js";

export type Accel = (typeof ACCELS)[number];

export interface AccelFacts {
  platform: NodeJS.Platform;
  kvmDevice: "absent" | "no-access" | "present";
  pvmOnly: boolean;
  hvfSupported: boolean;
  override?: string;
}

export interface AccelChoice {
  accel: Accel;
  /** Plain-language reason, shown by doctor and in errors. */
  reason: string;
  /** What the host offers, independent of an override. */
  kvm: "usable" | "pvm-only" | "no-access" | "absent" | "n/a";
}

export function decideAccel(f: AccelFacts): AccelChoice {
  const kvm: AccelChoice["kvm"] =
    f.platform !== "linux" ? "n/a" : f.kvmDevice === "absent" ? "absent" : f.kvmDevice === "no-access" ? "no-access" : f.pvmOnly ? "pvm-only" : "usable";
  if (f.override) {
    if (!(ACCELS as readonly string[]).includes(f.override)) {
      throw new BootcError("INVALID_ARGUMENT", `unknown accelerator "${f.override}"`, `use one of: ${ACCELS.join(", ")}`);
    }
    return { accel: f.override as Accel, reason: `chosen explicitly (--accel / BOOTC_ACCEL=${f.override})`, kvm };
  }
  if (f.platform === "darwin") {
    return f.hvfSupported
      ? { accel: "hvf", reason: "macOS Hypervisor.framework is available", kvm }
      : { accel: "tcg", reason: "Hypervisor.framework is not available: software emulation (slow)", kvm };
  }
  switch (kvm) {
    case "usable":
      return { accel: "kvm", reason: "/dev/kvm is present and usable", kvm };
    case "pvm-only":
      return {
        accel: "tcg",
        reason: "/dev/kvm is present but is a PVM nested hypervisor (kvm_pvm loaded), which cannot boot ordinary guest kernels: using TCG software emulation",
        kvm,
      };
    case "no-access":
      return { accel: "tcg", reason: "/dev/kvm exists but this user cannot open it (bootc doctor says how to get access): using TCG", kvm };
    default:
      return { accel: "tcg", reason: "no /dev/kvm on this host: using TCG software emulation (slow)", kvm };
  }
}

export async function readAccelFacts(override?: string, env: NodeJS.ProcessEnv = process.env): Promise<AccelFacts> {
  let kvmDevice: AccelFacts["kvmDevice"] = "absent";
  if (existsSync("/dev/kvm")) {
    try {
      accessSync("/dev/kvm", constants.R_OK | constants.W_OK);
      kvmDevice = "present";
    } catch {
      kvmDevice = "no-access";
    }
  }
  let hvfSupported = false;
  if (process.platform === "darwin") {
    const r = await execa("sysctl", ["-n", "kern.hv_support"], { reject: false });
    hvfSupported = r.stdout.trim() === "1";
  }
  return {
    platform: process.platform,
    kvmDevice,
    pvmOnly: existsSync("/sys/module/kvm_pvm"),
    hvfSupported,
    override: override ?? (env.BOOTC_ACCEL || undefined),
  };
}

export async function detectAccel(override?: string, env: NodeJS.ProcessEnv = process.env): Promise<AccelChoice> {
  return decideAccel(await readAccelFacts(override, env));
}
