/**
 * Named snapshots of the direct runtime's disk VMs: qcow2 internal snapshots of the VM's
 * overlay (docs/disks.md, "Snapshots"). A running VM's go through its monitor's QMP (disk
 * and memory: a restore resumes the guest); a stopped VM's through qemu-img (disk only).
 * A stopped VM restored from a memory snapshot starts paused, loads it, and runs on
 * without booting (supervisor.ts). Everything is checked before anything is written.
 */
import { existsSync } from "node:fs";
import { copyFile, constants } from "node:fs/promises";
import path from "node:path";
import { BootcError } from "../../core/errors.js";
import { withVmLock } from "../../core/lock.js";
import { vmPaths, type EnginePaths, type VmPaths } from "../../core/paths.js";
import type { VmRecord } from "../../core/record.js";
import type { VmInfo } from "../../core/vm.js";
import { checkSnapshotTag, type SnapshotInfo } from "../../disk/snapshot-plan.js";
import { checkRoomForSnapshot, listOverlaySnapshots, overlaySnapshot } from "../../disk/snapshots.js";
import { requestSnapshot } from "./client.js";
import type { RestoreResult } from "../runtime.js";

export type { RestoreResult };

/** How long a snapshot job may take (saving a few GiB of guest memory is the slow one). */
const JOB_WAIT_SEC = 15 * 60;

export interface SnapshotHost {
  paths: EnginePaths;
  get(name: string): Promise<VmInfo>;
  /** Boots the stopped VM by loading the memory snapshot `restoreSnapshot` instead. */
  start(name: string, o: { restoreSnapshot: string }): Promise<VmRecord>;
}

const isRunning = (vm: VmInfo) => vm.effectiveState === "running" || vm.effectiveState === "ssh-ready";
const isStopped = (vm: VmInfo) => vm.effectiveState === "stopped" || vm.effectiveState === "failed";

export class DirectSnapshots {
  constructor(private readonly host: SnapshotHost) {}

  /** The VM, if its snapshots can be taken at all: a disk VM without shares. */
  private async snapshotable(name: string): Promise<VmInfo> {
    const vm = await this.host.get(name);
    if (vm.mode !== "disk")
      throw new BootcError(
        "INVALID_ARGUMENT",
        `VM "${name}" is ephemeral: it has no disk of its own to snapshot, and its virtiofs root cannot be saved with its memory`,
        "boot the image with --mode disk to take snapshots",
      );
    if (vm.binds.length)
      throw new BootcError(
        "INVALID_ARGUMENT",
        `VM "${name}" has host directory shares (--bind), and their virtiofs devices cannot be saved with the guest's memory`,
        "take snapshots of a disk VM made without --bind",
      );
    return vm;
  }

  private overlay(name: string): string {
    return vmPaths(name, this.host.paths).overlay;
  }

  /** Running and stopped are the states a snapshot can be taken in; booting and stopping wait. */
  private busy(vm: VmInfo): BootcError {
    return new BootcError(
      "VM_BUSY",
      `VM "${vm.name}" is ${vm.effectiveState}`,
      `wait until it runs (bootc list shows running or ssh-ready) or has stopped, then try again`,
    );
  }

  async list(name: string): Promise<SnapshotInfo[]> {
    await this.snapshotable(name);
    const file = this.overlay(name);
    return existsSync(file) ? listOverlaySnapshots(file) : [];
  }

  private async find(name: string, tag: string): Promise<SnapshotInfo> {
    const snap = (await this.list(name)).find((s) => s.tag === tag);
    if (!snap) throw new BootcError("INVALID_ARGUMENT", `VM "${name}" has no snapshot "${tag}"`, `see its snapshots: bootc snapshot list ${name}`);
    return snap;
  }

  /** Takes snapshot `tag`: disk and memory of a running VM, the disk of a stopped one. */
  async create(name: string, tag: string): Promise<SnapshotInfo> {
    checkSnapshotTag(tag);
    const vm = await this.snapshotable(name);
    const file = this.overlay(name);
    if (!existsSync(file)) throw new BootcError("INVALID_ARGUMENT", `VM "${name}" has no disk yet (it has never booted)`, `start it once: bootc start ${name}`);
    if ((await this.list(name)).some((s) => s.tag === tag))
      throw new BootcError(
        "INVALID_ARGUMENT",
        `VM "${name}" already has a snapshot "${tag}"`,
        `pick another tag, or remove that one first: bootc snapshot rm ${name} ${tag}`,
      );
    if (isRunning(vm)) {
      await checkRoomForSnapshot(name, file, true, vm.memoryMiB);
      await this.ask(name, "save", tag);
    } else if (isStopped(vm)) {
      await checkRoomForSnapshot(name, file, false, vm.memoryMiB);
      await this.whileStopped(name, async () => {
        try {
          await overlaySnapshot("create", tag, file);
        } catch (e) {
          // Nothing half-done: no tag may stay behind from a snapshot that failed.
          if ((await listOverlaySnapshots(file).catch(() => [])).some((s) => s.tag === tag)) await overlaySnapshot("delete", tag, file).catch(() => undefined);
          throw e;
        }
      });
    } else throw this.busy(vm);
    return this.find(name, tag);
  }

  /**
   * Goes back to snapshot `tag`. A memory snapshot: the guest runs on from that moment (a
   * stopped VM is started for it, without a boot). A disk-only snapshot: the stopped VM's
   * disk is put back; a running VM is refused (its guest would see its disk change under it).
   */
  async restore(name: string, tag: string): Promise<RestoreResult> {
    checkSnapshotTag(tag);
    const vm = await this.snapshotable(name);
    const snap = await this.find(name, tag);
    if (isRunning(vm)) {
      if (!snap.memory)
        throw new BootcError(
          "VM_RUNNING",
          `snapshot "${tag}" of VM "${name}" holds its disk only, which cannot be put back under a running guest`,
          `stop the VM first (bootc stop ${name}), then restore it`,
        );
      await this.ask(name, "load", tag);
      return { tag, running: true };
    }
    if (!isStopped(vm)) throw this.busy(vm);
    if (snap.memory) {
      await this.host.start(name, { restoreSnapshot: tag });
      return { tag, running: true };
    }
    await this.whileStopped(name, () => overlaySnapshot("apply", tag, this.overlay(name)));
    return { tag, running: false };
  }

  async remove(name: string, tag: string): Promise<void> {
    checkSnapshotTag(tag);
    const vm = await this.snapshotable(name);
    await this.find(name, tag);
    if (isRunning(vm)) await this.ask(name, "delete", tag);
    else if (isStopped(vm)) await this.whileStopped(name, () => overlaySnapshot("delete", tag, this.overlay(name)));
    else throw this.busy(vm);
  }

  /** Copies the stopped VM's overlay (snapshots included), key and UEFI variables into `dir` (a warm entry being made). */
  async exportTo(name: string, dir: string): Promise<void> {
    const vm = await this.snapshotable(name);
    if (!isStopped(vm)) throw this.busy(vm);
    const p = vmPaths(name, this.host.paths);
    await this.whileStopped(name, async () => {
      for (const [from, to] of warmFiles(p, dir)) if (existsSync(from)) await copyFile(from, to, constants.COPYFILE_FICLONE);
    });
  }

  /** Runs `fn` under the VM's lock, with the VM checked stopped there: no start may open the overlay meanwhile. */
  private async whileStopped(name: string, fn: () => Promise<void>): Promise<void> {
    await withVmLock(vmPaths(name, this.host.paths).lock, name, async () => {
      const vm = await this.host.get(name);
      if (!isStopped(vm)) throw this.busy(vm);
      await fn();
    });
  }

  private async ask(name: string, action: "save" | "load" | "delete", tag: string): Promise<void> {
    const reply = await requestSnapshot(name, action, tag, JOB_WAIT_SEC, this.host.paths);
    if (reply.ok) return;
    const what = { save: "taking", load: "restoring", delete: "removing" }[action];
    if (/No space left/i.test(reply.error))
      throw new BootcError("NO_SPACE", `${what} snapshot "${tag}" of VM "${name}" ran out of space: ${reply.error}`, `free space there; nothing was kept`);
    throw new BootcError("MONITOR_UNREACHABLE", `${what} snapshot "${tag}" of VM "${name}" failed: ${reply.error}`);
  }
}

/** The files a warm entry keeps of a VM: [in the VM's directory, in the entry]. */
function warmFiles(p: VmPaths, dir: string): Array<[string, string]> {
  return [
    [p.overlay, path.join(dir, "disk.qcow2")],
    [p.key, path.join(dir, "id_ed25519")],
    [`${p.key}.pub`, path.join(dir, "id_ed25519.pub")],
    [p.efiVars, path.join(dir, "efi-vars.fd")],
  ];
}

/**
 * A new VM's private copy of a warm entry's state. A reflink where the filesystem has them
 * (btrfs, XFS: instant, shared until written), a sparse copy otherwise: qemu loads a
 * memory snapshot only from the image it writes to, so an overlay on the entry (which
 * would keep the entry untouched for free) cannot hold it.
 */
export async function copyWarmState(dir: string, p: VmPaths): Promise<void> {
  for (const [to, from] of warmFiles(p, dir)) if (existsSync(from)) await copyFile(from, to, constants.COPYFILE_FICLONE);
}
