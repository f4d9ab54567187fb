/**
 * What every runtime reports about a VM, whoever runs it: its record with the state
 * observed now, the events of a boot, and an attached serial console.
 */
import type net from "node:net";
import type { VmRecord, VmState } from "./record.js";

export interface VmInfo extends VmRecord {
  /** The state as observed now: an active record whose monitor is gone is "failed". */
  effectiveState: VmState;
  uptimeSec?: number;
  /** The record is damaged: only the name and the reason are real. */
  broken?: boolean;
}

/** What a boot reports as it goes (the direct runtime's monitor streams these; libvirt's runtime emits them while it waits). */
export type VmEvent =
  | { type: "snapshot"; record: VmRecord }
  | { type: "state"; state: VmState; at: string; reason?: string; guestPoweredOff?: boolean }
  | { type: "timeline"; event: string; at: string }
  | { type: "warning"; message: string }
  /** Disk mode: building the base disk (steps; bytes written when known). */
  | { type: "progress"; step: string; bytes?: number; totalBytes?: number };

export interface ConsoleAttachment {
  /** Serial output (the first `replayBytes` are history), and keystrokes to the guest. */
  socket: net.Socket;
  replayBytes: number;
}
