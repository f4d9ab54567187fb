/**
 * What each VM is doing now, read from its record alone: no podman, no monitor connection,
 * and none of the engine's heavier modules, so `bootc list` and `bootc inspect` answer at
 * once (docs/benchmarks.md). The only live check is whether the recorded monitor is still
 * the same process.
 */
import { readdir } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { BootcError, isBootcError } from "../../core/errors.js";
import { vmsDir, type EnginePaths } from "../../core/paths.js";
import { isSameProcess } from "../../core/proc.js";
import { ACTIVE_STATES, readRecord, type VmRecord, type VmState } from "../../core/record.js";
import { NAME_RE } from "../../core/names.js";
import type { VmInfo } from "../../core/vm.js";

export const MONITOR_DIED = "the monitor process died unexpectedly (its qemu and virtiofsd died with it); `bootc rm` cleans up";

/** The VM's monitor is running: its pid is alive and is still the process that was recorded. */
export const monitorAlive = (rec: Pick<VmRecord, "monitorPid" | "monitorStartId">) => isSameProcess(rec.monitorPid, rec.monitorStartId);

/**
 * Resolves once the monitor has exited, or after `timeoutMs`. A stop is complete then (its
 * children die with it), and so is what a monitor does after its last event: removing a
 * --rm VM's directory, a --rmi VM's image.
 */
export async function monitorExited(rec: Pick<VmRecord, "monitorPid" | "monitorStartId">, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (monitorAlive(rec) && Date.now() < deadline) await sleep(50);
}

/** What `list` shows for a VM whose record is damaged: its name, "failed", and why. */
function brokenVm(name: string, e: BootcError): VmInfo {
  return {
    version: 1,
    name,
    image: "",
    imageId: "",
    mode: "ephemeral",
    createdAt: "",
    cpus: 0,
    memoryMiB: 0,
    accel: "tcg",
    accelReason: "",
    sshUser: "",
    identity: "",
    generatedKey: false,
    forwards: [],
    binds: [],
    kargs: [],
    removeOnStop: false,
    readyTimeoutSec: 0,
    state: "failed",
    warnings: [],
    timeline: [],
    effectiveState: "failed",
    broken: true,
    reason: `${e.message}; ${e.hint}`,
  };
}

/** The VMs' names: directories of the vms dir that are VM names (not a removal in progress). */
export async function vmNames(paths: EnginePaths): Promise<string[]> {
  const entries = await readdir(vmsDir(paths)).catch(() => [] as string[]);
  return entries.filter((n) => NAME_RE.test(n) && !/\.removing-\d+$/.test(n)).sort();
}

export async function vmStatus(name: string, paths: EnginePaths): Promise<VmInfo> {
  const rec = await readRecord(name, paths);
  const dead = ACTIVE_STATES.includes(rec.state) && !monitorAlive(rec);
  // A record being created may not have its monitor pid yet for a moment.
  const effectiveState: VmState = dead && rec.monitorPid ? "failed" : rec.state;
  return {
    ...rec,
    effectiveState,
    ...(dead && rec.monitorPid ? { reason: MONITOR_DIED } : {}),
    ...(rec.startedAt && ACTIVE_STATES.includes(effectiveState) ? { uptimeSec: Math.round((Date.now() - Date.parse(rec.startedAt)) / 1000) } : {}),
  };
}

export async function listVmStatus(paths: EnginePaths): Promise<VmInfo[]> {
  const out: VmInfo[] = [];
  for (const name of await vmNames(paths)) {
    // A VM removed while we list is simply not listed; a broken one is listed as broken.
    const vm = await vmStatus(name, paths).catch((e: unknown) => (isBootcError(e) && e.code === "VM_BROKEN" ? brokenVm(name, e) : undefined));
    if (vm) out.push(vm);
  }
  return out;
}
