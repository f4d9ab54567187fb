/**
 * Named snapshots of a disk VM, as pure functions: which tags are allowed, the qemu-img and
 * QMP commands that make, list, apply and delete them, and what a listing means. They are
 * qcow2 internal snapshots of the VM's overlay (docs/disks.md, "Snapshots"): the disk's
 * clusters are shared copy-on-write, and a snapshot taken while the guest runs also holds
 * its memory and device state ("vmstate") in the same file.
 */
import { BootcError } from "../core/errors.js";

/** Tags become qcow2 snapshot names and QMP strings: plain characters only, so they never need quoting anywhere. */
export const SNAPSHOT_TAG_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const SNAPSHOT_TAG_RULE = "use 1–63 characters: letters, digits, '.', '_' and '-', starting with a letter or digit";

/** The disk node every disk VM's overlay is (qemu-args.ts names it disk0); its vmstate goes there too. */
export const SNAPSHOT_NODE = "disk0";

export function checkSnapshotTag(tag: string): string {
  if (typeof tag !== "string" || !SNAPSHOT_TAG_RE.test(tag))
    throw new BootcError("INVALID_ARGUMENT", `${JSON.stringify(String(tag)).slice(0, 80)} is not a valid snapshot tag`, SNAPSHOT_TAG_RULE);
  return tag;
}

export interface SnapshotInfo {
  tag: string;
  /** When it was taken (ISO 8601). */
  createdAt: string;
  /** Holds the running guest's memory: a restore resumes it. Without: the disk only, restored on a stopped VM. */
  memory: boolean;
  /** Bytes of saved memory and device state (0 for a disk-only snapshot). */
  vmStateBytes: number;
  /** How long the guest had run when it was taken (seconds of its clock). */
  guestClockSec: number;
}

/**
 * The overlay as a qemu `json:` filename with `"backing": null`: qemu-img then opens this
 * one file and follows nothing its header names (a premade disk's chain is the user's
 * input; internal snapshots never need the backing file).
 */
export function overlayImage(file: string): string {
  return `json:${JSON.stringify({ driver: "qcow2", backing: null, file: { driver: "file", filename: file } })}`;
}

/** `qemu-img info` of the overlay; -U reads it while qemu holds it (a listing of a running VM). */
export const infoArgs = (file: string): string[] => ["info", "-U", "--output=json", overlayImage(file)];

/** `qemu-img snapshot` on a stopped VM's overlay: make (disk only), apply, or delete `tag`. */
export function snapshotArgs(op: "create" | "apply" | "delete", tag: string, file: string): string[] {
  const flag = { create: "-c", apply: "-a", delete: "-d" }[op];
  return ["snapshot", flag, checkSnapshotTag(tag), overlayImage(file)];
}

/** The snapshots in `qemu-img info --output=json`'s answer, oldest first. */
export function parseSnapshots(info: unknown): SnapshotInfo[] {
  const list = (info as { snapshots?: unknown })?.snapshots;
  if (!Array.isArray(list)) return [];
  return list
    .map((s: Record<string, unknown>) => {
      const vmState = Number(s["vm-state-size"] ?? 0);
      return {
        tag: String(s.name ?? ""),
        createdAt: new Date(Number(s["date-sec"] ?? 0) * 1000 + Math.floor(Number(s["date-nsec"] ?? 0) / 1e6)).toISOString(),
        memory: vmState > 0,
        vmStateBytes: vmState,
        guestClockSec: Number(s["vm-clock-sec"] ?? 0),
      };
    })
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/**
 * The QMP job for a running VM. Only the overlay takes part (`devices`): the UEFI variable
 * store is a raw file, which cannot hold a snapshot, and with it in the set qemu refuses
 * the whole snapshot. The variables are not part of a snapshot: a restore keeps the
 * current ones (a guest rarely writes them, and only to change boot entries).
 */
export function snapshotJob(op: "save" | "load" | "delete", tag: string, jobId: string): { execute: string; arguments: Record<string, unknown> } {
  const base = { "job-id": jobId, tag: checkSnapshotTag(tag), devices: [SNAPSHOT_NODE] };
  return op === "delete" ? { execute: "snapshot-delete", arguments: base } : { execute: `snapshot-${op}`, arguments: { ...base, vmstate: SNAPSHOT_NODE } };
}

/** Room a snapshot needs on the VM's filesystem: the guest's memory (a memory snapshot) and metadata, with a margin. */
export function snapshotSpaceNeeded(memory: boolean, memoryMiB: number): number {
  const margin = 64 * 1024 * 1024;
  return (memory ? memoryMiB * 1024 * 1024 : 0) + margin;
}

/** One sentence for a filesystem without that room: nothing is written. */
export function checkSnapshotSpace(name: string, freeBytes: number, needed: number): void {
  if (freeBytes >= needed) return;
  const gib = (n: number) => `${(n / 1024 ** 3).toFixed(2)} GiB`;
  throw new BootcError(
    "NO_SPACE",
    `a snapshot of VM "${name}" needs about ${gib(needed)} free next to its disk, and only ${gib(freeBytes)} is free`,
    `free space there, or remove snapshots it no longer needs: bootc snapshot rm ${name} TAG`,
  );
}
