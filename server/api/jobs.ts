/**
 * Long jobs (pull, demo build): each keeps its log so a viewer that subscribes late gets
 * the whole story, then live lines, then the outcome. The list is bounded.
 */
import { EventEmitter, on } from "node:events";
import { randomUUID } from "node:crypto";
import { isBootcError } from "../../engine/core/errors.js";

export type JobKind = "pull" | "demo-build" | "build" | "rebuild" | "export" | "export-root" | "snapshot";
export type JobEvent =
  | { type: "log"; line: string }
  | { type: "progress"; percent: number }
  | { type: "done"; ok: true }
  | { type: "done"; ok: false; error: string; hint?: string };

export interface JobInfo {
  id: string;
  kind: JobKind;
  title: string;
  startedAt: string;
  state: "running" | "succeeded" | "failed";
  error?: string;
}

interface Job extends JobInfo {
  events: JobEvent[];
  emitter: EventEmitter;
}

const MAX_JOBS = 20;
const MAX_EVENTS = 5000;

export class Jobs {
  private readonly jobs = new Map<string, Job>();

  start(kind: JobKind, title: string, work: (log: (line: string) => void, progress: (percent: number) => void) => Promise<void>): JobInfo {
    const job: Job = { id: randomUUID(), kind, title, startedAt: new Date().toISOString(), state: "running", events: [], emitter: new EventEmitter() };
    this.jobs.set(job.id, job);
    for (const old of [...this.jobs.values()].slice(0, Math.max(0, this.jobs.size - MAX_JOBS))) if (old.state !== "running") this.jobs.delete(old.id);
    const push = (e: JobEvent) => {
      job.events.push(e);
      if (job.events.length > MAX_EVENTS) job.events.splice(0, job.events.length - MAX_EVENTS);
      job.emitter.emit("event", e);
    };
    let lastPercent = -1;
    void work(
      (line) => push({ type: "log", line }),
      // Only forward moves are events: a pull reports many ticks per percent, and its
      // total grows as layers are discovered, which must not move the bar back.
      (percent) => {
        const p = Math.max(0, Math.min(100, Math.round(percent)));
        if (p > lastPercent) push({ type: "progress", percent: (lastPercent = p) });
      },
    ).then(
      () => {
        job.state = "succeeded";
        push({ type: "done", ok: true });
      },
      (err: unknown) => {
        job.state = "failed";
        job.error = err instanceof Error ? err.message : String(err);
        push({ type: "done", ok: false, error: job.error, ...(isBootcError(err) && err.hint ? { hint: err.hint } : {}) });
      },
    );
    return this.info(job);
  }

  list(): JobInfo[] {
    return [...this.jobs.values()].map((j) => this.info(j));
  }

  /** Replays the job's events, then follows it until it is done or `signal` aborts. */
  async *follow(id: string, signal?: AbortSignal): AsyncGenerator<JobEvent> {
    const job = this.jobs.get(id);
    if (!job) {
      yield { type: "done", ok: false, error: `no job ${id}` };
      return;
    }
    const live = on(job.emitter, "event", { signal });
    for (const e of [...job.events]) {
      yield e;
      if (e.type === "done") return;
    }
    try {
      for await (const [e] of live) {
        yield e as JobEvent;
        if ((e as JobEvent).type === "done") return;
      }
    } catch (e) {
      if ((e as Error).name !== "AbortError") throw e;
    }
  }

  private info(j: Job): JobInfo {
    return { id: j.id, kind: j.kind, title: j.title, startedAt: j.startedAt, state: j.state, ...(j.error ? { error: j.error } : {}) };
  }
}
