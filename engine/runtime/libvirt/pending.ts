/**
 * libvirt VMs being made: a base disk built and uploaded, a domain defined and started —
 * minutes of work before libvirt knows the VM. Like the direct runtime's monitor, `create`
 * returns once that work is under way; until it ends, this process answers for the VM (its
 * record in state "creating", its progress events to followers), and `waitFor` waits for it.
 * A failure stays visible (state "failed" with why) until it is read by a wait, or for a
 * minute.
 */
import type { VmRecord } from "../../core/record.js";
import type { VmEvent, VmInfo } from "../../core/vm.js";

const FAILED_KEPT_MS = 60_000;

interface Making {
  record: VmRecord;
  events: VmEvent[];
  listeners: Set<(e: VmEvent) => void>;
  done: Promise<void>;
  error?: Error;
}

export class PendingVms {
  private readonly making = new Map<string, Making>();

  /** Runs `work` for VM `record.name` in the background; `emit` reaches its followers. */
  start(record: VmRecord, work: (emit: (e: VmEvent) => void) => Promise<void>, onEnd: () => void): void {
    const m: Making = { record, events: [], listeners: new Set(), done: Promise.resolve() };
    const emit = (e: VmEvent) => {
      if (e.type === "timeline") m.record = { ...m.record, timeline: [...m.record.timeline, { event: e.event, at: e.at }] };
      if (e.type === "warning") m.record = { ...m.record, warnings: [...m.record.warnings, e.message] };
      m.events.push(e);
      for (const l of m.listeners) l(e);
    };
    m.done = work(emit).then(
      () => {
        this.making.delete(record.name);
        onEnd();
      },
      (e: Error) => {
        m.error = e;
        m.record = { ...m.record, state: "failed", reason: e.message };
        emit({ type: "state", state: "failed", at: new Date().toISOString(), reason: e.message });
        setTimeout(() => this.making.get(record.name) === m && this.making.delete(record.name), FAILED_KEPT_MS).unref();
        onEnd();
      },
    );
    this.making.set(record.name, m);
  }

  has(name: string): boolean {
    return this.making.has(name);
  }

  get(name: string): VmInfo | undefined {
    const m = this.making.get(name);
    return m && { ...m.record, effectiveState: m.record.state };
  }

  list(): VmInfo[] {
    return [...this.making.keys()].map((n) => this.get(n)!);
  }

  /** Until the work ends: what happened so far, then what happens. Returns a closer. */
  follow(name: string, onEvent: (e: VmEvent) => void): (() => void) | undefined {
    const m = this.making.get(name);
    if (!m) return undefined;
    onEvent({ type: "snapshot", record: m.record });
    for (const e of m.events) onEvent(e);
    m.listeners.add(onEvent);
    return () => m.listeners.delete(onEvent);
  }

  /** Waits for the work on VM `name` (if any) to end; throws its error, once read. */
  async settled(name: string): Promise<void> {
    const m = this.making.get(name);
    if (!m) return;
    await m.done;
    if (m.error) {
      this.making.delete(name);
      throw m.error;
    }
  }
}
