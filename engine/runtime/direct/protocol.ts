/**
 * The monitor's unix-socket protocol. A client sends one JSON line naming what it wants:
 *   {"op":"events"}   → JSON lines: a snapshot, then every state/timeline event
 *   {"op":"console"}  → a JSON header line {"replayBytes": n}, then raw bytes both ways:
 *                       n bytes of replayed history, then live serial output; what the
 *                       client writes goes to the guest's serial input
 *   {"op":"stop", "force"?: bool, "timeoutSec"?: n, "reboot"?: bool} → one JSON line when
 *                       qemu is gone; `reboot` records that the VM boots again right away
 *   {"op":"soft-reboot", "image": {"ref","id"}, "timelinePrefix"?: [...]} → one JSON line
 *                       {"ok":true,"soft":true} once the guest runs the new image's root
 *                       and answers SSH (the old root released), or {"ok":true,"soft":false,
 *                       "why":…} with nothing changed: the caller then reboots fully
 *   {"op":"snapshot", "action":"save"|"load"|"delete", "tag"} → one JSON line {"ok":true}
 *                       once qemu's snapshot job has finished (load: the guest runs again
 *                       from the snapshot), or {"ok":false,"error":…} with nothing changed
 */
import * as z from "zod";
import type { VmState } from "../../core/record.js";
import { SNAPSHOT_TAG_RE } from "../../disk/snapshot-plan.js";

/** Every request is checked against this before the monitor acts on it: a client's bad input must never end the VM. */
const MonitorRequestSchema = z.discriminatedUnion("op", [
  z.strictObject({ op: z.literal("events") }),
  z.strictObject({ op: z.literal("console") }),
  z.strictObject({
    op: z.literal("stop"),
    force: z.boolean().optional(),
    timeoutSec: z
      .number()
      .int()
      .min(0)
      .max(24 * 3600)
      .optional(),
    reboot: z.boolean().optional(),
  }),
  z.strictObject({
    op: z.literal("soft-reboot"),
    image: z.strictObject({ ref: z.string().min(1).max(512), id: z.string().regex(/^(sha256:)?[0-9a-f]{12,64}$/) }),
    timelinePrefix: z
      .array(z.strictObject({ event: z.string().max(64), at: z.string().max(64) }))
      .max(16)
      .optional(),
  }),
  z.strictObject({ op: z.literal("snapshot"), action: z.enum(["save", "load", "delete"]), tag: z.string().regex(SNAPSHOT_TAG_RE) }),
]);
export type MonitorRequest = z.infer<typeof MonitorRequestSchema>;

/** One request line → the request, or undefined for anything malformed (not JSON, not an object, unknown op, bad fields). */
export function parseMonitorRequest(line: string): MonitorRequest | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  const r = MonitorRequestSchema.safeParse(value);
  return r.success ? r.data : undefined;
}

export type StopReply = { ok: true; state: VmState; reason?: string } | { ok: false; error: string };

export type SoftRebootReply = { ok: true; soft: true } | { ok: true; soft: false; why: string } | { ok: false; error: string };

export interface ConsoleHeader {
  replayBytes: number;
  error?: string;
}

export type SnapshotReply = { ok: true } | { ok: false; error: string };
