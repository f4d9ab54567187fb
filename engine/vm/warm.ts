/**
 * Warm one-shots (`bootc run --rm --warm`, `bootc test --warm`): a disk VM that starts by
 * resuming a guest saved just after its boot, instead of booting. The first run for an
 * image digest and options boots a VM cold, snapshots it (memory and disk) once SSH
 * answers, and keeps its overlay and key as a warm entry (disk/warm-cache.ts); every run
 * then gets a private copy of that entry and resumes it. docs/disks.md, "Warm starts", says
 * what sibling guests share.
 */
import { rm } from "node:fs/promises";
import { BootcError } from "../core/errors.js";
import type { EnginePaths } from "../core/paths.js";
import type { VmRecord } from "../core/record.js";
import type { ParsedRunOptions } from "../core/schema.js";
import type { VmEvent } from "../core/vm.js";
import { diskKey, readEntry } from "../disk/cache.js";
import {
  commitWarmEntry,
  qemuIdentity,
  readWarmEntry,
  removeWarmEntry,
  WARM_TAG,
  warmEntryDir,
  warmKey,
  warmPartialDir,
  type WarmEntry,
} from "../disk/warm-cache.js";
import { q35Board } from "../host/q35.js";
import { findQemu, hostArch } from "../host/tools.js";
import type { VmRuntime } from "../runtime/runtime.js";

/** What a warm start needs of the engine: boot a VM, follow it, snapshot, stop and remove it. */
export interface WarmHost {
  paths: EnginePaths;
  waitFor(name: string, target: "ssh-ready", onEvent: (e: VmEvent) => void): Promise<unknown>;
  createSnapshot(name: string, tag: string): Promise<unknown>;
  stopVm(name: string, o: { force: boolean }): Promise<unknown>;
  removeVm(name: string, o: { force: boolean }): Promise<unknown>;
}

/** Options a warm start cannot honour, in one sentence each (before anything is made). */
export function checkWarmOptions(o: ParsedRunOptions): void {
  const refuse = (why: string, hint: string) => {
    throw new BootcError("INVALID_ARGUMENT", why, hint);
  };
  if (!o.removeOnStop && !o.removeImageOnStop) refuse("--warm is for one-shot VMs, which go when done", "add --rm (bootc run --rm --warm IMAGE -- CMD)");
  if (o.binds.length) refuse("--warm cannot be combined with --bind: virtiofs shares cannot be saved with the guest's memory", "drop --bind, or --warm");
  if (o.disk) refuse("--warm starts from an image's cached base disk, not a disk file", "drop --disk, or --warm");
  const firstBoot: Array<[unknown, string]> = [
    [o.cloudInit, "--cloudinit"],
    [o.kickstart, "--ks"],
    [o.password, "--password"],
  ];
  for (const [given, flag] of firstBoot)
    if (given) refuse(`--warm resumes a guest configured at an earlier boot, so ${flag} would not be applied`, `drop ${flag}, or --warm`);
}

/** The warm entry's key of a checked VM record (disk mode), and its base disk's key. */
export async function warmKeyOf(r: VmRecord): Promise<{ key: string; base: string }> {
  const d = r.disk;
  if (r.mode !== "disk" || !d || d.builder === "premade") throw new BootcError("INVALID_ARGUMENT", "--warm needs a disk-mode VM of an image");
  const base = diskKey({ imageId: r.imageId, builder: d.builder, sizeBytes: d.sizeBytes, filesystem: d.filesystem });
  const key = warmKey({
    base,
    cpus: r.cpus,
    memoryMiB: r.memoryMiB,
    accel: r.accel,
    arch: r.arch,
    sshUser: r.sshUser,
    kargs: r.kargs,
    credentialTransport: r.credentialTransport,
    allowHostLoopback: !!r.allowHostLoopback,
    autologin: !!r.autologin,
    identity: r.generatedKey ? undefined : r.identity,
    qemu: await qemuIdentity(findQemu(process.env, r.arch ?? hostArch())),
    q35DevicesOff: r.q35DevicesOff,
  });
  return { key, base };
}

/**
 * Makes the warm entry: boots a VM cold, snapshots it once SSH answers, stops it, keeps
 * its overlay and key, removes it. `say` hears what happens. A failure leaves no entry.
 */
async function makeWarmEntry(
  host: WarmHost,
  runtime: VmRuntime,
  record: VmRecord,
  opts: ParsedRunOptions,
  ids: { key: string; base: string },
  onEvent: (e: VmEvent) => void,
): Promise<WarmEntry> {
  const name = `warm-${ids.key.slice(0, 12)}-${process.pid}`;
  const partial = await warmPartialDir(host.paths, ids.key);
  const t0 = Date.now();
  try {
    await runtime.create({
      record: { ...record, name, removeOnStop: false, removeImageOnStop: undefined, forwards: [] },
      opts: { ...opts, name, forwards: [], removeOnStop: false, removeImageOnStop: false },
    });
    await host.waitFor(name, "ssh-ready", onEvent);
    const bootSec = (Date.now() - t0) / 1000;
    onEvent({ type: "timeline", event: "warm-snapshot", at: new Date().toISOString() });
    await host.createSnapshot(name, WARM_TAG);
    await host.stopVm(name, { force: true });
    await runtime.exportWarm(name, partial);
    const entry: WarmEntry = { key: ids.key, image: record.image, imageId: record.imageId, base: ids.base, createdAt: new Date().toISOString(), bootSec };
    await commitWarmEntry(host.paths, partial, entry);
    return entry;
  } finally {
    await host.removeVm(name, { force: true }).catch(() => undefined);
    await rm(partial, { recursive: true, force: true });
  }
}

/**
 * Creates the one-shot VM from the warm entry (made first when missing). Returns once its
 * monitor is resuming the guest: waitFor follows it as it would a boot.
 */
export async function createWarmVm(
  host: WarmHost,
  runtime: VmRuntime,
  vm: { record: VmRecord; opts: ParsedRunOptions },
  onEvent: (e: VmEvent) => void = () => undefined,
): Promise<VmRecord> {
  checkWarmOptions(vm.opts);
  // The board is decided once, here: the entry's VM and this one boot on the same (host/q35.ts).
  vm = { ...vm, record: { ...vm.record, ...(await q35Board(vm.record)) } };
  const ids = await warmKeyOf(vm.record);
  let entry = await readWarmEntry(host.paths, ids.key);
  // An entry whose base disk was removed is of no use: a rebuilt base need not match the overlay's clusters.
  if (entry && !(await readEntry(host.paths, entry.base))) {
    await removeWarmEntry(host.paths, ids.key);
    entry = undefined;
  }
  const made = !entry;
  if (!entry) entry = await makeWarmEntry(host, runtime, vm.record, vm.opts, ids, onEvent);
  const at = new Date().toISOString();
  const record: VmRecord = {
    ...vm.record,
    disk: { ...vm.record.disk!, base: entry.base },
    timeline: [...vm.record.timeline, { event: made ? "warm-entry-made" : "warm-entry-reused", at }],
  };
  return runtime.create({ record, opts: vm.opts, warm: { dir: warmEntryDir(host.paths, ids.key), tag: WARM_TAG } });
}
