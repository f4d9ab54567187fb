/**
 * Snapshots of a running VM through its QMP: qemu's snapshot-save / snapshot-load /
 * snapshot-delete jobs (qemu ≥ 6.0), which, unlike HMP savevm, take an explicit device
 * set — the overlay only (snapshot-plan.ts says why). A job is followed until it
 * concludes and is then dismissed; its error is qemu's own sentence.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { snapshotJob } from "../../disk/snapshot-plan.js";
import type { Qmp } from "./qmp.js";

interface JobInfo {
  id: string;
  status: string;
  error?: string;
}

let seq = 0;

export async function runSnapshotJob(qmp: Qmp, op: "save" | "load" | "delete", tag: string, timeoutMs = 15 * 60_000): Promise<void> {
  const jobId = `bootc-snap-${process.pid}-${++seq}`;
  await qmp.run(snapshotJob(op, tag, jobId));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const jobs = (await qmp.run({ execute: "query-jobs" })) as JobInfo[];
    const job = jobs.find((j) => j.id === jobId);
    if (!job || job.status === "concluded") {
      await qmp.run({ execute: "job-dismiss", arguments: { id: jobId } }).catch(() => undefined);
      if (job?.error) throw new Error(job.error);
      return;
    }
    if (Date.now() > deadline) throw new Error(`the snapshot-${op} job did not finish within ${Math.round(timeoutMs / 1000)} s`);
    await sleep(200);
  }
}

/** After a load, the guest runs again from the snapshot's moment (a failed load leaves it paused: it resumes as it was). */
export async function resume(qmp: Qmp): Promise<void> {
  const status = (await qmp.run({ execute: "query-status" })) as { running?: boolean };
  if (!status.running) await qmp.run({ execute: "cont" });
}
