/**
 * The HTTP API (tRPC at /api/trpc): images, VMs, host, long jobs, and live subscriptions
 * over server-sent events. Inputs are validated with zod here, at the edge; everything
 * else is the engine's.
 */
import { createRequire } from "node:module";
import * as z from "zod";
import { buildDemoImage, DEMO_IMAGE } from "../../engine/demo/build.js";
import { runDoctor } from "../../engine/doctor/doctor.js";
import { inspectImage, listImages } from "../../engine/images/images.js";
import { forgetPodman, readSavedPodmans, SAVED_PODMAN_NAME_RE, savePodman } from "../../engine/images/saved-podmans.js";
import { connectionFromEnv, describePodman } from "../../engine/core/podman-connection.js";
import { pullImage, removeImage } from "../../engine/images/pull.js";
import { exportedRoot } from "../../engine/images/remote-root.js";
import { parsePlatform, withGuestArch } from "../../engine/host/arch.js";
import { hostArch } from "../../engine/host/tools.js";
import { buildImage } from "../../engine/images/build.js";
import { checkExportTarget, EXPORT_FORMATS, exportImageDisk } from "../../engine/disk/export.js";
import { absHostPathSchema, imageRefSchema, podmanConnectionSchema, RunOptionsSchema, vmNameSchema } from "../../engine/core/schema.js";
import { runOptionFacts } from "../../engine/core/option-facts.js";
import type { VmEvent } from "../../engine/core/vm.js";
import { procedure, router } from "./trpc.js";
import { addHost, HOST_NAME_RE, knownHosts, removeHost } from "../../engine/runtime/libvirt/hosts.js";
import { vmChanges } from "./vm-changes.js";
import { snapshots } from "./snapshots.js";
import { API_VERSION, describeProcedures, STABLE_PROCEDURES } from "./meta.js";

// Read when asked: the path holds from dist/server/api/, where the server runs (unit tests import the source).
const serverVersion = () => (createRequire(import.meta.url)("../../../package.json") as { version: string }).version;

// The engine's own rules (engine/core/schema.ts), reused here so a form shows the same message
// in place; the engine checks them again whoever calls it.
const imageRef = imageRefSchema;
const vmName = vmNameSchema;
const absPath = absHostPathSchema;

/**
 * vms.run's input is the engine's own schema, field for field (its help texts are in
 * meta.describe; its defaults, limits and hints for forms in meta.runOptions). Host paths
 * are absolute paths on the server's host. What the server adds: `connect` left out means
 * the server's default (bootc serve --connect, or BOOTC_CONNECT); "" is bootc's own runtime.
 */
export const RunInput = RunOptionsSchema;

const savedPodmanName = z.string().regex(SAVED_PODMAN_NAME_RE, "lower-case letters, digits and . _ - @, starting with a letter or digit");

const images = router({
  /** The images of the server's podman, or of another (`podman`: a connection, as vms.run takes it; a saved one's from images.podmans). */
  list: procedure
    .input(z.object({ all: z.boolean().default(false), podman: podmanConnectionSchema.optional() }).default({ all: false }))
    .query(({ input }) => listImages(input)),
  inspect: procedure.input(z.object({ ref: imageRef, podman: podmanConnectionSchema.optional() })).query(({ input }) => inspectImage(input.ref, input.podman)),
  /**
   * The podmans the Images page can show: the server's own (`server`: how it is reached —
   * the local podman, or CONTAINER_HOST's in the server's environment) and the ones saved on
   * this server by name.
   */
  podmans: procedure.query(async ({ ctx }) => ({
    server: describePodman(connectionFromEnv()),
    saved: (await readSavedPodmans(ctx.engine.paths)).map((p) => ({ ...p, label: describePodman(p.podman) })),
  })),
  savePodman: procedure
    .input(z.object({ name: savedPodmanName, podman: podmanConnectionSchema }))
    .mutation(({ input, ctx }) => savePodman(ctx.engine.paths, input.name, input.podman)),
  forgetPodman: procedure.input(z.object({ name: savedPodmanName })).mutation(async ({ input, ctx }) => {
    await forgetPodman(ctx.engine.paths, input.name);
    return { forgotten: input.name };
  }),
  /** podman rmi in the server's podman, or in another (`podman`, as images.list takes it). */
  remove: procedure.input(z.object({ ref: imageRef, podman: podmanConnectionSchema.optional() })).mutation(async ({ input }) => {
    await removeImage(input.ref, input.podman);
    return { removed: input.ref };
  }),
  /** A job; with `podman`, the pull runs in that podman (podman pull's lines as the log); `platform` as podman's --platform. */
  pull: procedure
    .input(z.object({ ref: imageRef, podman: podmanConnectionSchema.optional(), platform: z.string().max(64).optional() }))
    .mutation(({ input, ctx }) => {
      const platform = input.platform ? parsePlatform(input.platform).platform : undefined;
      return ctx.jobs.start("pull", `Pull ${input.ref}`, (log, progress) =>
        pullImage(
          input.ref,
          { platform, onLine: log, onProgress: (p) => p.totalBytes && progress(Math.floor((p.bytes / p.totalBytes) * 100)) },
          ctx.engine.paths,
          input.podman,
        ),
      );
    }),
  /**
   * podman build of a Containerfile directory on this host; follow the job for the log. With
   * `podman`, the build runs in that podman (the directory is sent there) and the image stays there.
   */
  build: procedure.input(z.object({ dir: absPath, tag: imageRef, podman: podmanConnectionSchema.optional() })).mutation(({ input, ctx }) =>
    ctx.jobs.start("build", `Build ${input.tag}`, async (log, progress) => {
      const r = await buildImage({
        dir: input.dir,
        tag: input.tag,
        ...(input.podman ? { podman: input.podman } : {}),
        onLine: (line) => {
          log(line);
          // podman build numbers its steps: "STEP 2/5: COPY …".
          const step = /^STEP (\d+)\/(\d+)/.exec(line);
          if (step) progress(Math.floor(((Number(step[1]) - 1) / Number(step[2])) * 100));
        },
      });
      log(`==> built ${r.tag} (${r.imageId.slice(0, 12)})${input.podman ? ` in ${describePodman(input.podman)}` : ""}`);
    }),
  ),
  /**
   * A job: the root filesystem of an image of another podman, exported into the server's
   * cache now (or found there), with its bytes as progress. The boot dialog runs it before
   * vms.run, which then finds the root cached, so an ephemeral boot shows its export's bar.
   */
  exportRoot: procedure.input(z.object({ ref: imageRef, podman: podmanConnectionSchema })).mutation(({ input, ctx }) =>
    ctx.jobs.start("export-root", `Export the root filesystem of ${input.ref}`, async (log, progress) => {
      const image = await inspectImage(input.ref, input.podman);
      let last = "";
      const r = await exportedRoot(input.podman, { ref: input.ref, id: image.id, sizeBytes: image.sizeBytes }, ctx.engine.paths, (p) => {
        if (p.step !== last) log(`==> ${(last = p.step)}`);
        if (p.bytes !== undefined && p.totalBytes) progress(Math.min(99, Math.floor((p.bytes / p.totalBytes) * 100)));
      });
      progress(100);
      log(r.reused ? `==> the root of ${image.id.slice(0, 12)} is in the cache already` : `==> exported the root of ${image.id.slice(0, 12)}`);
    }),
  ),
  buildDemo: procedure.mutation(({ ctx }) =>
    ctx.jobs.start("demo-build", `Build ${DEMO_IMAGE}`, async (log) => {
      await buildDemoImage({ onLog: log });
    }),
  ),
});

const vms = router({
  list: procedure.query(async ({ ctx }) => (await ctx.engine.listVms()).map((v) => withGuestArch(v, hostArch()))),
  get: procedure.input(z.object({ name: vmName })).query(async ({ input, ctx }) => withGuestArch(await ctx.engine.getVm(input.name), hostArch())),
  /** Creates the VM and starts booting it; follow vms.watch for progress. */
  run: procedure.input(RunInput).mutation(({ input, ctx }) => ctx.engine.createVm({ ...input, connect: input.connect ?? process.env.BOOTC_CONNECT })),
  start: procedure.input(z.object({ name: vmName })).mutation(({ input, ctx }) => ctx.engine.startVm(input.name)),
  stop: procedure
    .input(z.object({ name: vmName, force: z.boolean().default(false), timeoutSec: z.number().int().min(0).max(3600).default(60) }))
    .mutation(({ input, ctx }) => ctx.engine.stopVm(input.name, input)),
  restart: procedure.input(z.object({ name: vmName })).mutation(({ input, ctx }) => ctx.engine.restartVm(input.name)),
  /** removeImage: also the VM's image and cached base disks, unless another VM uses them. */
  remove: procedure
    .input(z.object({ name: vmName, force: z.boolean().default(false), removeImage: z.boolean().default(false) }))
    .mutation(async ({ input, ctx }) => {
      const notes = await ctx.engine.removeVm(input.name, input);
      return { removed: input.name, notes };
    }),
  /** Rebuild the VM's image from its source directory; reboot into it if it changed. A job. */
  rebuild: procedure.input(z.object({ name: vmName })).mutation(({ input, ctx }) => ctx.autoRebuild.rebuild(input.name)),
  /** Turn "rebuild on change" on or off for a VM (for as long as this server runs). */
  autoRebuild: procedure.input(z.object({ name: vmName, enabled: z.boolean() })).mutation(({ input, ctx }) => ctx.autoRebuild.set(input.name, input.enabled)),
  autoRebuildList: procedure.query(({ ctx }) => ctx.autoRebuild.enabled()),
  /** The tail of the serial log (what the console printed) or the monitor's own log. */
  logs: procedure
    .input(z.object({ name: vmName, which: z.enum(["serial", "monitor"]).default("serial") }))
    .query(({ input, ctx }) => ctx.engine.readLog(input.name, input.which)),
  /**
   * Where the VM's current (or last) boot spent its time, and what changed since its previous
   * boot (or since VM `against`'s): {report, previous?, comparison?}. A ready guest is asked
   * over SSH once its boot has finished, so this can take a while the first time.
   */
  bootReport: procedure
    .input(z.object({ name: vmName, against: vmName.optional() }))
    .query(({ input, ctx }) => ctx.engine.bootInsight(input.name, input.against ? { against: input.against } : {})),
  /** The whole VM list, sent again whenever any VM changes. */
  changes: procedure.subscription(async function* ({ ctx, signal }) {
    yield* vmChanges(ctx.engine, signal);
  }),
  /** One VM's monitor events (state, boot timeline, warnings) until it stops. */
  watch: procedure.input(z.object({ name: vmName })).subscription(async function* ({ input, ctx, signal }) {
    const queue: VmEvent[] = [];
    let wake: (() => void) | undefined;
    const w = await ctx.engine.events(input.name, (e) => {
      queue.push(e);
      wake?.();
    });
    let closed = false;
    void w.closed.then(() => {
      closed = true;
      wake?.();
    });
    signal?.addEventListener("abort", () => w.close());
    try {
      while (!signal?.aborted) {
        while (queue.length) yield queue.shift()!;
        if (closed) return;
        await new Promise<void>((r) => (wake = r));
      }
    } finally {
      w.close();
    }
  }),
});

const disks = router({
  /** The cache: base disks of disk-mode VMs (kind "disk") and roots exported from another podman (kind "root"), with size, image, age and the VMs using them. */
  list: procedure.query(({ ctx }) => ctx.engine.listDisks()),
  prune: procedure
    .input(z.object({ all: z.boolean().default(false), dryRun: z.boolean().default(false) }))
    .mutation(({ input, ctx }) => ctx.engine.pruneDisks(input)),
  remove: procedure.input(z.object({ key: z.string().regex(/^[0-9a-f]{6,64}$/, "a key from disks.list") })).mutation(async ({ input, ctx }) => {
    await ctx.engine.removeDisk(input.key);
    return { removed: input.key };
  }),
  /** `bootc to-disk` as a job: a bootable disk image of `image` written to `file` on the server's host. */
  export: procedure
    .input(
      z.object({
        image: imageRef,
        file: absPath,
        format: z.enum(EXPORT_FORMATS).default("qcow2"),
        builder: RunOptionsSchema.shape.builder,
        diskSizeBytes: RunOptionsSchema.shape.diskSizeBytes,
      }),
    )
    .mutation(async ({ input, ctx }) => {
      // A bad path is answered here, in the dialog, not as a failed job.
      await checkExportTarget(input.file);
      return ctx.jobs.start("export", `Export ${input.image}`, async (log, progress) => {
        let last = "";
        const r = await exportImageDisk(ctx.engine.paths, {
          image: input.image,
          file: input.file,
          format: input.format,
          builder: input.builder,
          sizeBytes: input.diskSizeBytes,
          onProgress: (p) => {
            if (p.step !== last) log(`==> ${(last = p.step)}`);
            // The bar follows the writing of the file itself (the job's progress only moves forward).
            if (p.step === `writing ${input.format}` && p.bytes !== undefined && p.totalBytes) progress(Math.floor((p.bytes / p.totalBytes) * 100));
          },
        });
        log(`==> wrote ${r.file} (${r.format}, ${Math.round(r.bytes / 1024 / 1024)} MiB on disk)`);
      });
    }),
});

const jobs = router({
  list: procedure.query(({ ctx }) => ctx.jobs.list()),
  follow: procedure.input(z.object({ id: z.string().uuid() })).subscription(async function* ({ input, ctx, signal }) {
    yield* ctx.jobs.follow(input.id, signal);
  }),
});

const hostName = z.string().regex(HOST_NAME_RE, "letters, digits and . _ - @ :, starting with a letter or digit");

const host = router({
  doctor: procedure.query(() => runDoctor()),
  /** Saved libvirt hosts, and the server's default for new VMs ("" = bootc's own runtime). */
  hosts: procedure.query(async ({ ctx }) => {
    const hosts = await knownHosts(ctx.engine.paths);
    const env = process.env.BOOTC_CONNECT;
    return {
      hosts: hosts.map((h) => ({ name: h.name, uri: h.uri, pool: h.pool, label: h.connection.label, local: h.connection.local })),
      default: hosts.find((h) => h.name === env || h.uri === env)?.name ?? "",
    };
  }),
  addHost: procedure
    .input(
      z.object({
        name: hostName,
        uri: z.string().min(1).max(1024),
        pool: z
          .string()
          .regex(/^[A-Za-z0-9_.-]{1,64}$/, "letters, digits, '.', '_' and '-'")
          .optional(),
      }),
    )
    .mutation(async ({ input, ctx }) => {
      const h = await addHost(ctx.engine.paths, input);
      return { name: h.name, uri: h.uri, pool: h.pool };
    }),
  removeHost: procedure.input(z.object({ name: hostName })).mutation(async ({ input, ctx }) => {
    await removeHost(ctx.engine.paths, input.name);
    return { removed: input.name };
  }),
});

/** Browser sessions: end every one (each browser must sign in again with the token). */
const session = router({
  revokeAll: procedure.mutation(({ ctx }) => ({ revoked: ctx.revokeSessions() })),
});

// Set once appRouter exists: a router that named itself in its own definition would lose its types.
let allProcedures: Record<string, unknown> = {};
const meta = router({
  /** The API version and this server's; a client checks `api` before relying on stable calls. */
  version: procedure.query(() => ({ api: API_VERSION, server: serverVersion(), stable: STABLE_PROCEDURES })),
  /** Every procedure: kind, stability, and the JSON Schema of its input. */
  describe: procedure.query(() => ({ api: API_VERSION, procedures: describeProcedures(allProcedures) })),
  /** Each vms.run option's help text, default, limits and allowed values: what a form shows. */
  runOptions: procedure.query(() => runOptionFacts()),
});

export const appRouter = router({ images, vms, disks, snapshots, jobs, host, session, meta });
allProcedures = appRouter._def.procedures;
export type AppRouter = typeof appRouter;
