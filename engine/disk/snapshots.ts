/**
 * qemu-img on a VM's overlay: list its snapshots (also while qemu runs it: -U), and make,
 * apply or delete one while the VM is stopped. The running VM's snapshots go through its
 * monitor's QMP instead (runtime/direct/snapshot-jobs.ts): qemu-img must never write a
 * file qemu has open.
 */
import { statfs } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { BootcError } from "../core/errors.js";
import { findOnPath, INSTALL_HINT } from "../host/tools.js";
import { checkSnapshotSpace, infoArgs, parseSnapshots, snapshotArgs, snapshotSpaceNeeded, type SnapshotInfo } from "./snapshot-plan.js";

function qemuImg(): string {
  const found = findOnPath("qemu-img");
  if (!found) throw new BootcError("MISSING_TOOL", "qemu-img was not found on PATH", INSTALL_HINT.qemu);
  return found;
}

export async function listOverlaySnapshots(file: string): Promise<SnapshotInfo[]> {
  const r = await execa(qemuImg(), infoArgs(file), { reject: false });
  if (r.exitCode !== 0) throw new BootcError("DISK_INVALID", `cannot read the snapshots of ${file}: ${r.stderr.trim() || `qemu-img exited ${r.exitCode}`}`);
  return parseSnapshots(JSON.parse(r.stdout));
}

/** Runs one `qemu-img snapshot` on a stopped VM's overlay; qemu-img's own words on failure. */
export async function overlaySnapshot(op: "create" | "apply" | "delete", tag: string, file: string): Promise<void> {
  const r = await execa(qemuImg(), snapshotArgs(op, tag, file), { reject: false });
  if (r.exitCode === 0) return;
  const why = r.stderr.trim() || `qemu-img exited ${r.exitCode}`;
  if (/No space left/i.test(why)) checkSnapshotSpace(path.basename(path.dirname(file)), 0, 1);
  throw new BootcError("DISK_INVALID", `qemu-img could not ${op} snapshot ${tag}: ${why}`);
}

/** Refuses, before anything is written, a snapshot the overlay's filesystem has no room for. */
export async function checkRoomForSnapshot(name: string, file: string, memory: boolean, memoryMiB: number): Promise<void> {
  const s = await statfs(path.dirname(file));
  checkSnapshotSpace(name, Number(s.bavail) * Number(s.bsize), snapshotSpaceNeeded(memory, memoryMiB));
}
