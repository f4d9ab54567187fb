/**
 * Disk mode at boot time (run by the VM's monitor): make sure the base disk exists (from
 * the cache, or built now), give the VM its own qcow2 overlay on it, and say how qemu
 * boots it: the image's kernel for direct-built disks, UEFI firmware otherwise.
 */
import { copyFile, rm, access, stat } from "node:fs/promises";
import path from "node:path";
import { BootcError } from "../core/errors.js";
import { hostArch, requireFirmware } from "../host/tools.js";
import type { GuestArch } from "../host/arch.js";
import { guestSystemdVersion, hasSshd, imageUsers, mountImage, unmountImage } from "../images/rootfs.js";
import type { EnginePaths, VmPaths } from "../core/paths.js";
import type { VmRecord } from "../core/record.js";
import { diskFile, ensureEntry, entryDir, type DiskEntry } from "./cache.js";
import { buildDirectDisk, directDiskKernelArgs } from "./direct.js";
import { buildInstallDisk } from "./install.js";
import { buildRemoteDirectDisk } from "./remote-direct.js";
import { buildRemoteInstallDisk } from "./remote-install.js";
import { describePodman, type PodmanConnection } from "../core/podman-connection.js";
import { createOverlay, inspectDisk, type DiskFormat } from "./overlay.js";
import type { DiskProgress } from "./progress.js";

export interface DiskBoot {
  kernel?: string;
  initrd?: string;
  cmdline: string[];
  firmware?: { code: string; vars: string };
  /** The VM's overlay, and the base under it: qemu opens the base with no backing of its own. */
  disk: { file: string; format: "qcow2"; backing: { file: string; format: DiskFormat } };
  systemd?: number;
  sshd: boolean;
  /** The image's users; undefined for a premade disk (unknown). */
  users?: string[];
  /** The base disk's cache key; undefined for a premade disk. */
  base?: string;
  /** True when the base came from the cache, false when built for this boot. */
  reused?: boolean;
}

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

async function uefi(vp: VmPaths, arch: GuestArch): Promise<{ code: string; vars: string }> {
  const fw = requireFirmware("to boot installed and premade disks", arch);
  // Each VM keeps its own variable store (boot entries persist like on real hardware).
  if (!(await exists(vp.efiVars))) await copyFile(fw.vars, vp.efiVars);
  return { code: fw.code, vars: vp.efiVars };
}

/** The image's base disk from the cache, or built now by its builder (`bootc run --mode disk`, `bootc to-disk`). */
export async function ensureBaseDisk(
  paths: EnginePaths,
  o: { image: string; imageId: string; builder: "direct" | "install"; sizeBytes: number; filesystem: string; podman?: PodmanConnection },
  onProgress: (p: DiskProgress) => void,
  signal?: AbortSignal,
): Promise<{ entry: DiskEntry; reused: boolean }> {
  const spec = { imageId: o.imageId, builder: o.builder, sizeBytes: o.sizeBytes, filesystem: o.filesystem };
  return ensureEntry(
    paths,
    spec,
    async (dir, key) => {
      const install = {
        entryDir: entryDir(paths, key),
        dir,
        key,
        image: o.image,
        imageId: o.imageId,
        sizeBytes: o.sizeBytes,
        filesystem: o.filesystem,
        onProgress,
        signal,
      };
      // An image of another podman: its disk is built there and streamed here.
      if (o.podman) {
        if (o.builder === "install") return buildRemoteInstallDisk({ ...install, podman: o.podman });
        if (o.builder !== "direct")
          throw new BootcError("INVALID_ARGUMENT", `the ${o.builder} builder cannot build a disk in ${describePodman(o.podman)}`, "use --builder direct");
        return buildRemoteDirectDisk({ podman: o.podman, dir, key, image: o.image, imageId: o.imageId, sizeBytes: o.sizeBytes, onProgress, signal });
      }
      if (o.builder === "direct") return buildDirectDisk({ dir, key, image: o.image, imageId: o.imageId, sizeBytes: o.sizeBytes, onProgress, signal });
      const { view } = await mountImage(o.imageId);
      let facts;
      try {
        facts = { systemd: await guestSystemdVersion(view), sshd: await hasSshd(view), users: await imageUsers(view) };
      } finally {
        await unmountImage(o.imageId);
      }
      return buildInstallDisk({ ...install, facts });
    },
    () => onProgress({ step: "waiting for another build of the same base disk" }),
  );
}

export async function prepareDiskBoot(
  r: VmRecord,
  paths: EnginePaths,
  vp: VmPaths,
  onProgress: (p: DiskProgress) => void,
  signal?: AbortSignal,
): Promise<DiskBoot> {
  const d = r.disk;
  if (!d) throw new BootcError("INVALID_ARGUMENT", `VM "${r.name}" is in disk mode but has no disk settings`, `remove it: bootc rm ${r.name}`);
  const overlayOn = (file: string, format: DiskFormat) => ({ file: vp.overlay, format: "qcow2" as const, backing: { file, format } });

  if (d.builder === "premade") {
    if (!d.premade || !d.premadeFormat) throw new BootcError("DISK_INVALID", `VM "${r.name}" has no premade disk recorded`);
    if (!(await exists(d.premade)))
      throw new BootcError("DISK_INVALID", `the VM's disk file ${d.premade} is gone`, `restore it, or remove the VM: bootc rm ${r.name}`);
    // Checked at every start, not only the first: the user's file may have been rewritten
    // since (a backing file named with `qemu-img rebase -u`, another format).
    const info = await inspectDisk(d.premade);
    if (info.format !== d.premadeFormat) {
      throw new BootcError(
        "DISK_INVALID",
        `${d.premade} is now a ${info.format} image; the VM was made on a ${d.premadeFormat} one`,
        `restore the file, or remove the VM (bootc rm ${r.name}) and run it again`,
      );
    }
    if (!(await exists(vp.overlay))) await createOverlay(d.premade, d.premadeFormat, vp.overlay, d.sizeBytes || info.virtualSize);
    return { firmware: await uefi(vp, r.arch ?? hostArch()), cmdline: [], disk: overlayOn(d.premade, d.premadeFormat), sshd: true };
  }

  const { entry, reused } = await ensureBaseDisk(
    paths,
    { image: r.image, imageId: r.imageId, builder: d.builder, sizeBytes: d.sizeBytes, filesystem: d.filesystem, ...(r.podman ? { podman: r.podman } : {}) },
    onProgress,
    signal,
  );

  // A new base (the image changed: rebuild & reboot) starts a new overlay; the same base
  // keeps the overlay, and with it everything the guest wrote.
  if (d.base !== entry.key) await rm(vp.overlay, { force: true });
  const baseFile = diskFile(entryDir(paths, entry.key));
  if (!(await exists(vp.overlay))) await createOverlay(baseFile, "raw", vp.overlay, (await stat(baseFile)).size);

  const base = { base: entry.key, reused, systemd: entry.guestSystemd, sshd: entry.sshd, users: entry.users, disk: overlayOn(baseFile, "raw") };
  if (entry.builder === "direct") {
    const dir = entryDir(paths, entry.key);
    return {
      ...base,
      kernel: path.join(dir, entry.kernel ?? "vmlinuz"),
      initrd: path.join(dir, entry.initrd ?? "initramfs.img"),
      cmdline: directDiskKernelArgs(r.kargs),
    };
  }
  return { ...base, firmware: await uefi(vp, r.arch ?? hostArch()), cmdline: [] };
}
