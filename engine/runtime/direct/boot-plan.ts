/**
 * What qemu boots, whichever the mode: in ephemeral mode the image's root filesystem,
 * mounted from podman storage and served as the "rootfs" share, with the image's kernel;
 * in disk mode the base disk from the cache (or built now) under the VM's overlay. Each
 * step is marked on the VM's boot timeline.
 */
import type { EnginePaths, VmPaths } from "../../core/paths.js";
import type { VmRecord } from "../../core/record.js";
import { prepareDiskBoot } from "../../disk/boot.js";
import type { PodmanNamespace } from "../../host/userns.js";
import { mountImage, readGuestFacts } from "../../images/rootfs.js";
import { loadableKernel } from "../../images/kernel.js";
import { ephemeralKernelArgs, type QemuDisk } from "./qemu-args.js";
import type { RecordLog } from "./record-log.js";

export interface BootPlan {
  /** Ephemeral mode: the image's root filesystem, served by virtiofsd as "rootfs". */
  rootShare?: string;
  kernel?: string;
  initrd?: string;
  cmdline: string[];
  firmware?: { code: string; vars: string };
  disks: QemuDisk[];
  systemd?: number;
  sshd: boolean;
  /** The image's users; undefined when unknown (a premade disk). */
  users?: string[];
}

export interface PlanContext {
  record: VmRecord;
  paths: EnginePaths;
  vp: VmPaths;
  log: RecordLog;
  /** Aborts a disk build when the VM is stopped meanwhile. */
  signal: AbortSignal;
  /** Between steps: a stop that came meanwhile ends the boot here (it throws). */
  checkpoint: () => void;
  /** The image is mounted (rootless: in this namespace): the monitor unmounts it when the VM ends. */
  mounted: (userns: PodmanNamespace | undefined) => void;
}

/** Ephemeral mode: the image's root filesystem, mounted from podman storage, is the root share. */
export async function ephemeralPlan(ctx: PlanContext): Promise<BootPlan> {
  const r = ctx.record;
  const root = await mountImage(r.imageId);
  ctx.mounted(root.userns);
  // Recorded at once: if this monitor dies, the clean-up knows this mount is its to undo.
  ctx.log.mark("image-mounted");
  ctx.checkpoint();
  // A UKI-only image: its kernel and initramfs are taken out into the runtime directory.
  const facts = await readGuestFacts(root.view, r.image, ctx.vp.runDir);
  ctx.log.update({ kernel: facts.uki ? `${facts.uki.file.slice(root.view.length)} (unified kernel image)` : facts.kernel.slice(root.view.length) });
  // An arm64 guest's kernel may be compressed or EFI zboot, which qemu 7.2 does not unpack.
  const kernel = r.arch === "aarch64" ? (await loadableKernel(facts.kernel, r.arch, ctx.vp.runDir, facts.kernel.slice(root.view.length))).path : facts.kernel;
  // qemu, run by the user, reads them through `view`: rootless, the files the image's root
  // owns are the user's own on the host.
  return {
    rootShare: root.path,
    kernel,
    initrd: facts.initrd,
    cmdline: [...(facts.uki?.kernelArgs ?? []), ...ephemeralKernelArgs(r.kargs)],
    disks: [],
    systemd: facts.systemd,
    sshd: facts.sshd,
    users: facts.users,
  };
}

/** Disk mode: the base disk from the cache (or built now) under this VM's overlay. */
export async function diskPlan(ctx: PlanContext): Promise<BootPlan> {
  const r = ctx.record;
  const plan = await prepareDiskBoot(r, ctx.paths, ctx.vp, (p) => ctx.log.broadcast({ type: "progress", ...p }), ctx.signal);
  ctx.checkpoint();
  if (plan.base && r.disk) ctx.log.update({ disk: { ...r.disk, base: plan.base } });
  ctx.log.mark(plan.reused === false ? "disk-built" : plan.reused ? "disk-reused" : "disk-ready");
  if (plan.kernel) ctx.log.update({ kernel: plan.kernel });
  return { ...plan, disks: [plan.disk] };
}
