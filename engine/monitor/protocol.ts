/**
 * The monitor's unix-socket protocol. A client sends one JSON line naming what it wants:
 *   {"op":"events"}   → JSON lines: a snapshot, then every state/timeline event
 *   {"op":"console"}  → a JSON header line {"replayBytes": n}, then raw bytes both ways:
 *                       n bytes of replayed history, then live serial output; what the
 *                       client writes goes to the guest's serial input
 *   {"op":"stop", "force"?: bool, "timeoutSec"?: n, "reboot"?: bool} → one JSON line when
 *                       qemu is gone; `reboot` records that the VM boots again right away
 */
import type { VmRecord, VmState } from "../vm/record.js";

export type MonitorRequest =
  | { op: "events" }
  | { op: "console" }
  | { op: "stop"; force?: boolean; timeoutSec?: number; reboot?: boolean };

export type MonitorEvent =
  | { type: "snapshot"; record: VmRecord }
  | { type: "state"; state: VmState; at: string; reason?: string }
  | { type: "timeline"; event: string; at: string }
  | { type: "warning"; message: string }
  /** Disk mode: building the base disk (steps; bytes written when known). */
  | { type: "progress"; step: string; bytes?: number; totalBytes?: number };

export type StopReply = { ok: true; state: VmState; reason?: string } | { ok: false; error: string };

export interface ConsoleHeader {
  replayBytes: number;
  error?: string;
}
