/**
 * Snapshots of disk VMs over the API (bootc snapshot; docs/disks.md, "Snapshots"). Taking
 * and restoring are jobs — saving a guest's memory takes seconds to minutes — whose log says
 * what happened; listing and removing answer at once.
 */
import * as z from "zod";
import { SNAPSHOT_TAG_RE, SNAPSHOT_TAG_RULE } from "../../engine/disk/snapshot-plan.js";
import { vmNameSchema } from "../../engine/core/schema.js";
import { procedure, router } from "./trpc.js";

const tag = z.string().regex(SNAPSHOT_TAG_RE, SNAPSHOT_TAG_RULE);
const target = z.object({ name: vmNameSchema, tag });

export const snapshots = router({
  /** The VM's snapshots, oldest first: tag, createdAt, memory (a running VM's: restoring resumes it), vmStateBytes. */
  list: procedure.input(z.object({ name: vmNameSchema })).query(({ input, ctx }) => ctx.engine.listSnapshots(input.name)),
  /** Takes snapshot `tag` as a job: disk and memory of a running VM, the disk of a stopped one. */
  create: procedure.input(target).mutation(({ input, ctx }) =>
    ctx.jobs.start("snapshot", `Snapshot ${input.name}: ${input.tag}`, async (log, progress) => {
      log(`==> taking snapshot ${input.tag} of ${input.name}`);
      const s = await ctx.engine.createSnapshot(input.name, input.tag);
      progress(100);
      log(`==> ${s.tag} taken (${s.memory ? `disk and memory, ${Math.round(s.vmStateBytes / 1024 / 1024)} MiB of memory state` : "disk only"})`);
    }),
  ),
  /** Goes back to snapshot `tag` as a job; a memory snapshot's job ends when the guest answers SSH again. */
  restore: procedure.input(target).mutation(({ input, ctx }) =>
    ctx.jobs.start("snapshot", `Restore ${input.name}: ${input.tag}`, async (log, progress) => {
      log(`==> restoring ${input.name} to ${input.tag}`);
      const r = await ctx.engine.restoreSnapshot(input.name, input.tag);
      if (r.running) {
        progress(50);
        log("==> the guest runs on from the snapshot; waiting for SSH");
        await ctx.engine.waitFor(input.name, "ssh-ready", () => undefined);
      }
      progress(100);
      log(r.running ? "==> ready" : "==> disk put back; start the VM to boot from it");
    }),
  ),
  remove: procedure.input(target).mutation(async ({ input, ctx }) => {
    await ctx.engine.removeSnapshot(input.name, input.tag);
    return { removed: input.tag };
  }),
});
