/**
 * The VM's record as its monitor keeps it: every change is written to vm.json (whole, in
 * order) before the event that announces it reaches the followers, so whoever hears an
 * event can read it on disk.
 */
import type net from "node:net";
import type { EnginePaths } from "../../core/paths.js";
import { writeRecord, type VmRecord } from "../../core/record.js";
import type { VmEvent } from "../../core/vm.js";

const now = () => new Date().toISOString();

export class RecordLog {
  private readonly followers = new Set<net.Socket>();
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private current: VmRecord,
    private readonly paths: EnginePaths,
  ) {}

  get record(): VmRecord {
    return this.current;
  }

  /** Adds a boot phase to the timeline. */
  mark(event: string): void {
    const entry = { event, at: now() };
    this.current = { ...this.current, timeline: [...this.current.timeline, entry] };
    this.persist({ type: "timeline", ...entry });
  }

  /** Changes fields; a new state is announced as an event. */
  update(patch: Partial<VmRecord>): void {
    const stateChanged = patch.state && patch.state !== this.current.state;
    this.current = { ...this.current, ...patch };
    const r = this.current;
    this.persist(
      stateChanged
        ? { type: "state", state: r.state, at: now(), ...(r.reason ? { reason: r.reason } : {}), ...(r.guestPoweredOff ? { guestPoweredOff: true } : {}) }
        : undefined,
    );
  }

  /** Tells the followers something that changes no field (a disk build's progress). */
  broadcast(event: VmEvent): void {
    const line = JSON.stringify(event) + "\n";
    for (const c of this.followers) c.write(line);
  }

  /** A new follower gets the record as it is, then every event until it or the VM goes. */
  follow(sock: net.Socket): void {
    sock.write(JSON.stringify({ type: "snapshot", record: this.current } satisfies VmEvent) + "\n");
    this.followers.add(sock);
    sock.once("close", () => this.followers.delete(sock));
  }

  /** Resolves once everything changed so far is on disk. */
  flushed(): Promise<void> {
    return this.writes;
  }

  /** The VM has ended: followers are let go. */
  endFollowers(): void {
    for (const c of this.followers) c.end();
  }

  private persist(event?: VmEvent): void {
    const snapshot = this.current;
    this.writes = this.writes
      .then(() => writeRecord(snapshot, this.paths))
      .catch(() => undefined)
      .then(() => event && this.broadcast(event));
  }
}
