/**
 * What qemu boots, whichever the mode: in ephemeral mode the image's root filesystem,
 * mounted from podman storage and served as the "rootfs" share, with the image's kernel;
 * in disk mode the base disk from the cache (or built now) under the VM's overlay. Each
 * step is marked on the VM's boot timeline.
 */
import type { EnginePaths, VmPaths } from "../../core/paths.js";
import type { VmRecord } from "../../core/record.js";
import { prepareDiskBoot } from "../../disk/boot.js";
import { exportedRoot } from "../../images/remote-root.js";
import { mountImage, readGuestFacts, type ImageRoot } from "../../images/rootfs.js";
import { loadableKernel } from "../../images/kernel.js";
import { shareTag } from "../../provision/credentials.js";
import { hostArch } from "../../host/tools.js";
import type { TcgThreads } from "../../host/accel.js";
import type { RootShare } from "./soft-reboot.js";
import { LINK_FD, type NetworkPlan } from "./network.js";
import { ephemeralKernelArgs, hotplugPortIds, type QemuDisk, type QemuSpec } from "./qemu-args.js";
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
  /** The image is mounted (rootless: in podman's namespace): the monitor unmounts it when the VM ends. */
  mounted: (root: ImageRoot) => void;
  /** Another podman's image: its exported root is served (nothing to unmount; a soft reboot can still move off it). */
  exported: (root: ImageRoot) => void;
}

/**
 * The image's root: mounted from the local podman's storage, or for an image of another
 * podman, its export in the local cache (made again if it was pruned since `run`).
 */
async function imageRoot(ctx: PlanContext): Promise<ImageRoot> {
  const r = ctx.record;
  if (r.podman) {
    const size = { ref: r.image, id: r.imageId, sizeBytes: 0 };
    const { dir, reused } = await exportedRoot(r.podman, size, ctx.paths, (p) => ctx.log.broadcast({ type: "progress", ...p }));
    // No mount to undo: the cached root stays for the next VM of this image.
    ctx.log.mark(reused ? "image-root-cached" : "image-root-exported");
    const root = { path: dir, view: dir };
    ctx.exported(root);
    return root;
  }
  const root = await mountImage(r.imageId);
  ctx.mounted(root);
  // Recorded at once: if this monitor dies, the clean-up knows this mount is its to undo.
  ctx.log.mark("image-mounted");
  return root;
}

/** Ephemeral mode: the image's root filesystem, mounted from podman storage (or exported from another podman), is the root share. */
export async function ephemeralPlan(ctx: PlanContext): Promise<BootPlan> {
  const r = ctx.record;
  const root = await imageRoot(ctx);
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
  // A direct-built disk of an arm64 image boots the image's kernel as ephemeral mode does.
  const kernel = plan.kernel && r.arch === "aarch64" ? (await loadableKernel(plan.kernel, r.arch, ctx.vp.runDir, plan.kernel)).path : plan.kernel;
  return { ...plan, kernel, disks: [plan.disk] };
}

/** PCIe root ports of an ephemeral VM: the first root's, and two for the roots soft reboots plug in (each freed once switched away from). */
export const ROOT_PORTS = hotplugPortIds(3);

/** The image root an ephemeral VM boots from: share 0, tag "rootfs", in the first root port. */
export function firstRoot(r: Pick<VmRecord, "image" | "imageId">, root: ImageRoot, exported = false): RootShare {
  return {
    imageId: r.imageId,
    image: r.image,
    view: root.view,
    userns: root.userns,
    ...(exported ? { exported } : {}),
    share: { chardev: "fs0", device: "vfs0", bus: ROOT_PORTS[0]!, tag: "rootfs" },
  };
}

export interface QemuInputs {
  record: VmRecord;
  plan: BootPlan;
  vp: VmPaths;
  /** The root share (if any) and then the binds, each served on vp.fsSock(i). */
  shareCount: number;
  sshPort?: number;
  network: NetworkPlan;
  provision: { kernelArgs: string[]; qemuArgs: string[] };
  /** Under TCG: how many host threads run the vCPUs (tcgThreadsHere). */
  tcgThreads?: TcgThreads;
}

/**
 * qemu's fd for the boot messages' virtio console (a socket pair's end; fd 3 is passt's
 * LINK_FD, left unset without passt). Direct kernel boots only: a disk the firmware boots
 * has its own kernel command line, which knows nothing of it.
 */
export const MESSAGES_FD = 4;

/** The qemu spec of one boot of the VM. */
export function qemuSpecOf({ record: r, plan, vp, shareCount, sshPort, network, provision, tcgThreads }: QemuInputs): QemuSpec {
  return {
    arch: hostArch(),
    ...(r.arch ? { guestArch: r.arch } : {}),
    platform: process.platform,
    accel: r.accel,
    ...(tcgThreads ? { tcgThreads } : {}),
    name: r.name,
    cpus: r.cpus,
    memoryMiB: r.memoryMiB,
    kernel: plan.kernel,
    initrd: plan.initrd,
    cmdline: [...plan.cmdline, ...provision.kernelArgs],
    ...(plan.kernel ? { messagesFd: MESSAGES_FD } : {}),
    firmware: plan.firmware,
    disks: plan.disks,
    // Bind shares are tagged bind1, bind2… whether or not a root share comes first. The root
    // share sits in a root port, so a soft reboot can unplug it once the guest has left it.
    shares: Array.from({ length: shareCount }, (_, i) => ({
      socket: vp.fsSock(i),
      ...(plan.rootShare ? (i === 0 ? { tag: "rootfs", bus: ROOT_PORTS[0] } : { tag: shareTag(i - 1) }) : { tag: shareTag(i) }),
    })),
    sshPort,
    forwards: r.forwards,
    // passt is joined to qemu by a socket pair, passed as LINK_FD.
    network: network.kind === "passt" ? { kind: "stream", fd: LINK_FD } : network,
    qmpSocket: vp.qmpSock,
    provisionArgs: provision.qemuArgs,
    hotplugPorts: plan.rootShare ? ROOT_PORTS.length : 0,
    ...(r.q35DevicesOff ? { q35DevicesOff: r.q35DevicesOff } : {}),
    // A restore (runtime/direct/snapshots.ts) loads the guest before it runs; -loadvm cannot: it would snapshot the raw UEFI vars too.
    ...(r.restoreSnapshot ? { paused: true } : {}),
  };
}
