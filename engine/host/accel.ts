/**
 * Choosing the accelerator. KVM on Linux, HVF on macOS, TCG otherwise; always overridable
 * with --accel or BOOTC_ACCEL. A /dev/kvm provided by a PVM nested hypervisor
 * (kvm_pvm loaded) cannot run ordinary guest kernels — they hang early in boot — so it
 * counts as "no usable KVM". `decideAccel` is pure so each case is unit-tested.
 */
import { accessSync, constants, existsSync } from "node:fs";
import { availableParallelism, cpus } from "node:os";
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
  tcgThreadsOverride(env.BOOTC_TCG_THREADS); // a bad value is refused here, before any VM is made
  return decideAccel(await readAccelFacts(override, env));
}

/**
 * The TCG translation cache, in MiB: qemu's `-accel tcg,tb-size=`, libvirt's
 * `<tcg><tb-cache>`. qemu's default for system emulation is 1 GiB, and a boot of the demo
 * guest fills about 700 MiB of it (translated code is thrown away whenever the guest reuses
 * a page that held code). Each page of that is fresh memory the host must fault in and zero
 * before qemu writes code into it, about a tenth of a boot's CPU on a host that is itself a
 * VM. A 256 MiB cache is flushed and refilled from memory already faulted in instead: 14 %
 * less CPU to SSH side by side, and 128 MiB no better; at 64 MiB retranslating costs more
 * than it saves (docs/benchmarks.md, "The translation cache"). It also keeps each TCG guest's
 * qemu ~600 MiB smaller.
 */
export const TCG_TB_CACHE_MIB = 256;

/** How TCG runs a guest's vCPUs: all on one host thread, or one host thread each. */
export type TcgThreads = "single" | "multi";

export interface TcgThreadFacts {
  vcpus: number;
  /** The host's cores (os.availableParallelism()). */
  hostCores: number;
  /** How many of them were idle just now (idleCores). */
  idle: number;
  /** BOOTC_TCG_THREADS, when set. */
  override?: string;
}

/**
 * One host thread per vCPU (multi-threaded TCG) when the host has that many cores idle,
 * else one thread for all. On idle cores the guest runs on as many cores as it has vCPUs;
 * on a busy host the threads only compete for the same cores, and multi-threaded TCG
 * costs about 12 % more CPU time for the same boot (docs/benchmarks.md, "Multi-threaded
 * TCG"), so a host already booting other guests would boot each of them slower. Half a
 * core of slack, so that an idle host's background work does not tip the choice. Pure,
 * for its unit tests.
 */
export function decideTcgThreads(f: TcgThreadFacts): { threads: TcgThreads; reason: string } {
  const override = tcgThreadsOverride(f.override);
  if (override) return { threads: override, reason: `chosen explicitly (BOOTC_TCG_THREADS=${override})` };
  if (f.vcpus < 2) return { threads: "single", reason: "one vCPU: one thread" };
  const idle = `${f.idle.toFixed(1)} of ${f.hostCores} host cores idle`;
  return f.idle + 0.5 >= f.vcpus
    ? { threads: "multi", reason: `a thread per vCPU: ${f.vcpus} vCPUs, ${idle}` }
    : { threads: "single", reason: `one thread for ${f.vcpus} vCPUs: only ${idle}` };
}

/**
 * How many cores were idle over the next `ms` (from the CPUs' time counters, on Linux and
 * macOS alike). Measured now rather than read from the load average, which still counts
 * a guest that ended a minute ago.
 */
export async function idleCores(ms = 250): Promise<number> {
  const idleAndTotal = () =>
    cpus().reduce(
      (acc, c) => {
        const t = c.times;
        return { idle: acc.idle + t.idle, total: acc.total + t.user + t.nice + t.sys + t.irq + t.idle };
      },
      { idle: 0, total: 0 },
    );
  const a = idleAndTotal();
  await new Promise((r) => setTimeout(r, ms));
  const b = idleAndTotal();
  const total = b.total - a.total;
  // As a share of the cores this process may use (its CPU affinity: availableParallelism), not of every CPU the host has.
  return total > 0 ? (availableParallelism() * (b.idle - a.idle)) / total : 0;
}

/** BOOTC_TCG_THREADS, checked: single, multi, or unset. */
export function tcgThreadsOverride(value: string | undefined): TcgThreads | undefined {
  const v = value || undefined;
  if (v === undefined || v === "single" || v === "multi") return v;
  throw new BootcError("INVALID_ARGUMENT", `BOOTC_TCG_THREADS="${v}" is not single or multi`, "unset it, or set single or multi");
}

/** decideTcgThreads with this host's cores as they are now, and BOOTC_TCG_THREADS. */
export async function tcgThreadsHere(vcpus: number, env: NodeJS.ProcessEnv = process.env): Promise<{ threads: TcgThreads; reason: string }> {
  const override = env.BOOTC_TCG_THREADS || undefined;
  return decideTcgThreads({ vcpus, hostCores: availableParallelism(), idle: override ? 0 : await idleCores(), override });
}
