/**
 * What a new VM boots, checked before the VM exists: an image (ephemeral mode, or disk mode
 * with a planned base disk) or a premade disk file. Bad input fails here and leaves nothing.
 */
import { BootcError } from "../core/errors.js";
import { enginePaths, type EnginePaths } from "../core/paths.js";
import { describePodman, isRemotePodman, type PodmanConnection } from "../core/podman-connection.js";
import type { DiskProgress } from "../disk/progress.js";
import { inspectImage } from "../images/images.js";
import { exportedRoot } from "../images/remote-root.js";
import { SOURCE_LABEL } from "../images/build.js";
import { mountImage, readGuestFacts, unmountImage } from "../images/rootfs.js";
import { planImageDisk, planPremadeDisk } from "../disk/plan.js";
import { DEFAULT_DISK_SIZE, type ParsedRunOptions } from "../core/schema.js";
import { probeRemoteImage } from "../disk/remote-direct.js";
import { requireRootfulPodman } from "../disk/remote-install.js";
import type { VmDisk } from "../core/record.js";
import { guestArch, isForeign, type GuestArch } from "../host/arch.js";
import { hostArch, requireFirmware, type HostArch } from "../host/tools.js";

export interface BootTarget {
  image: string;
  /** Empty for a premade disk. */
  imageId: string;
  /** The Containerfile directory bootc built the image from, if it did. */
  source?: string;
  disk?: VmDisk;
  /** The podman the image is in, when not the local one. */
  podman?: PodmanConnection;
  /** The guest's architecture when it is not the host's: the image's, or --arch's. */
  arch?: GuestArch;
}

export async function planTarget(opts: ParsedRunOptions, o: { paths?: EnginePaths; onExport?: (p: DiskProgress) => void } = {}): Promise<BootTarget> {
  const req = { builder: opts.builder, sizeBytes: opts.diskSizeBytes, filesystem: opts.filesystem, premade: opts.disk };
  if (opts.disk) {
    if (opts.image) throw new BootcError("INVALID_ARGUMENT", "give either an image or --disk, not both", "bootc run --disk FILE boots the disk as it is");
    // A disk says nothing of its architecture: the host's, or --arch's.
    const arch = opts.arch ? foreignArch("", hostArch(), opts.arch) : undefined;
    const disk = await planPremadeDisk(req, arch);
    refuseKargsUnderUefi(opts, disk);
    return { image: disk.premade!, imageId: "", disk, ...(arch ? { arch } : {}) };
  }
  if (!opts.image) throw new BootcError("INVALID_ARGUMENT", "no image given", "usage: bootc run IMAGE (or --disk FILE)");
  if (isRemotePodman(opts.podman)) return planRemoteTarget(opts, opts.podman, o.paths ?? enginePaths(), o.onExport);
  const image = await inspectImage(opts.image);
  const arch = foreignArch(image.arch, hostArch(), opts.arch);
  const source = image.labels[SOURCE_LABEL];
  if (opts.mode === "disk") {
    const disk = await planImageDisk(req, { ref: opts.image, id: image.id }, arch);
    refuseKargsUnderUefi(opts, disk);
    return { image: opts.image, imageId: image.id, source, disk, ...(arch ? { arch } : {}) };
  }
  // Look inside once now so an image without a kernel fails here, before any VM exists.
  const root = await mountImage(image.id);
  try {
    await readGuestFacts(root.view, opts.image);
  } finally {
    await unmountImage(image.id);
  }
  return { image: opts.image, imageId: image.id, source, ...(arch ? { arch } : {}) };
}

/**
 * The guest's architecture when it is not the host's (the image's, or --arch's): both modes
 * emulate it (engine/host/arch.ts); disk mode with the direct builder or a premade disk
 * (disk/plan.ts refuses the install builder for it).
 */
export function foreignArch(podmanArch: string, host: HostArch = hostArch(), override?: string): GuestArch | undefined {
  const guest = guestArch(podmanArch, host, override);
  return isForeign(guest, host) ? guest : undefined;
}

/**
 * An image in another podman. Ephemeral mode: its root is exported into the local cache
 * (once per image id) and looked at there. Disk mode: its base disk is built there by the
 * direct builder and streamed here when the VM first boots (disk/remote-direct.ts); a probe
 * there checks the image first. Either way a bad image fails before any VM exists.
 */
async function planRemoteTarget(opts: ParsedRunOptions, c: PodmanConnection, paths: EnginePaths, onExport?: (p: DiskProgress) => void): Promise<BootTarget> {
  const not = (what: string, hint: string) => new BootcError("INVALID_ARGUMENT", `${what} is not supported yet for an image of ${describePodman(c)}`, hint);
  // The install builder runs there as a privileged container: a rootless podman cannot (one sentence, before anything else).
  if (opts.mode === "disk" && opts.builder === "install") await requireRootfulPodman(c);
  const image = await inspectImage(opts.image, c);
  // Before the export: an image of another architecture is emulated (or refused) as a local one is.
  const arch = foreignArch(image.arch, hostArch(), opts.arch);
  const source = image.labels[SOURCE_LABEL];
  if (opts.mode === "disk" && opts.builder === "install") {
    if (arch) throw not("the install builder for an image of another architecture", "use --builder direct");
    const disk: VmDisk = { builder: "install", sizeBytes: opts.diskSizeBytes ?? DEFAULT_DISK_SIZE, filesystem: opts.filesystem };
    refuseKargsUnderUefi(opts, disk);
    requireFirmware("to boot an installed disk; --builder direct needs none");
    return { image: opts.image, imageId: image.id, source, disk, podman: c };
  }
  if (opts.mode === "disk") {
    const disk: VmDisk = { builder: "direct", sizeBytes: opts.diskSizeBytes ?? DEFAULT_DISK_SIZE, filesystem: opts.filesystem };
    await probeRemoteImage(c, { ref: opts.image, id: image.id }, disk.sizeBytes);
    return { image: opts.image, imageId: image.id, source, disk, podman: c, ...(arch ? { arch } : {}) };
  }
  const { dir } = await exportedRoot(c, { ref: opts.image, id: image.id, sizeBytes: image.sizeBytes }, paths, onExport);
  await readGuestFacts(dir, opts.image);
  return { image: opts.image, imageId: image.id, source, podman: c, ...(arch ? { arch } : {}) };
}

/**
 * Kernel arguments go on the command line of a kernel qemu loads itself (ephemeral mode and
 * direct-built disks). A UEFI boot (install-built or premade disk) takes them from the disk's
 * boot entries instead, so a --karg there would be silently dropped: refuse it.
 */
export function refuseKargsUnderUefi(opts: ParsedRunOptions, disk: VmDisk): void {
  if (!opts.kargs.length || disk.builder === "direct") return;
  throw new BootcError(
    "INVALID_ARGUMENT",
    `kernel arguments (${opts.kargs.join(" ")}) cannot be passed to a ${disk.builder === "premade" ? "premade disk" : "disk made by bootc install"}: it boots through UEFI with its own boot entries`,
    disk.builder === "premade"
      ? "drop --karg, or change the disk's boot entries"
      : "drop --karg, use --builder direct, or put the arguments in the image (/usr/lib/bootc/kargs.d)",
  );
}
