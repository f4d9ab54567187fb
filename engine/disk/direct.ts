/**
 * The built-in direct builder: the image's root filesystem written into an ext4 filesystem
 * image with `mkfs.ext4 -d` (no loop devices, no partition table, no bootloader), plus the
 * image's kernel and initramfs, which boot it directly (root=/dev/vda). It works for any
 * image with a kernel in /usr/lib/modules, bootc inside or not.
 */
import { copyFile, stat, rename } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { BootcError } from "../core/errors.js";
import { findOnPath } from "../host/tools.js";
import { spawnOwned } from "../host/spawn.js";
import { mountImage, onImageRoot, readGuestFacts, unmountImage, type ImageRoot } from "../images/rootfs.js";
import { BUILDER_VERSION, diskFile, type DiskEntry } from "./cache.js";
import { progressTotal, type DiskProgress } from "./progress.js";

export const ROOT_LABEL = "bootc-root";
const MIB = 1024 * 1024;

/** Bytes the root filesystem occupies, and the smallest disk that holds it with room to boot. */
export async function contentSize(root: ImageRoot): Promise<{ used: number; minimum: number }> {
  const du = await onImageRoot(root, { file: "du", args: ["-s", "-x", "--block-size=1", root.path] });
  const r = await execa(du.file, du.args, { reject: false });
  const used = Number(/^(\d+)/.exec(String(r.stdout))?.[1] ?? NaN);
  if (!Number.isFinite(used)) throw new BootcError("DISK_BUILD_FAILED", `could not measure the image's root filesystem: ${String(r.stderr).trim()}`);
  // ext4 metadata and journal, plus room for the first boot's writes.
  return { used, minimum: Math.ceil((used * 1.15 + 256 * MIB) / MIB) * MIB };
}

export function checkDiskSize(sizeBytes: number, minimum: number, image: string): void {
  if (sizeBytes < minimum) {
    const gib = (n: number) => `${(n / 1024 ** 3).toFixed(2)} GiB`;
    throw new BootcError(
      "DISK_TOO_SMALL",
      `a ${gib(sizeBytes)} disk cannot hold ${image} (it needs at least ${gib(minimum)})`,
      `use a larger --disk-size, e.g. --disk-size ${Math.ceil(minimum / 1024 ** 3) + 1}G`,
    );
  }
}

/** mke2fs arguments: an ext4 filesystem of `sizeBytes` in `file`, populated from `rootfs`. */
export function mkfsArgs(rootfs: string, file: string, sizeBytes: number): string[] {
  return ["-q", "-F", "-t", "ext4", "-L", ROOT_LABEL, "-d", rootfs, "-E", "root_owner=0:0", file, `${Math.floor(sizeBytes / 1024)}k`];
}

/** Kernel arguments that boot the direct builder's disk: the whole virtio disk is the root. */
export function directDiskKernelArgs(extra: string[]): string[] {
  return ["root=/dev/vda", "rootfstype=ext4", "rw", ...extra];
}

/**
 * The cache entry of a disk the direct builder made — here, or in another podman
 * (remote-direct.ts) — with the kernel and initramfs beside it under their fixed names.
 */
export function directEntry(
  o: { key: string; image: string; imageId: string; sizeBytes: number },
  facts: Awaited<ReturnType<typeof readGuestFacts>>,
): DiskEntry {
  return {
    key: o.key,
    image: o.image,
    imageId: o.imageId,
    builder: "direct",
    builderVersion: BUILDER_VERSION.direct,
    sizeBytes: o.sizeBytes,
    filesystem: "ext4",
    createdAt: new Date().toISOString(),
    kernel: "vmlinuz",
    initrd: "initramfs.img",
    ...(facts.systemd !== undefined ? { guestSystemd: facts.systemd } : {}),
    sshd: facts.sshd,
    users: facts.users,
  };
}

/** What the direct builder makes, here or in another podman (remote-direct.ts): a cache entry in `dir`. */
export interface DirectBuildRequest {
  dir: string;
  key: string;
  image: string;
  imageId: string;
  sizeBytes: number;
  onProgress: (p: DiskProgress) => void;
  /** A force stop of the VM: the build is killed, and fails (nothing enters the cache). */
  signal?: AbortSignal;
}

export async function buildDirectDisk(o: DirectBuildRequest): Promise<DiskEntry> {
  const mkfs = findOnPath("mkfs.ext4") ?? findOnPath("mke2fs");
  if (!mkfs) throw new BootcError("MISSING_TOOL", "mkfs.ext4 was not found", "install e2fsprogs");
  o.onProgress({ step: "mounting the image" });
  const root = await mountImage(o.imageId);
  try {
    // A UKI-only image's kernel and initramfs are taken out of it, here, and booted the same way.
    const facts = await readGuestFacts(root.view, o.image, o.dir);
    o.onProgress({ step: "measuring the root filesystem" });
    const { used, minimum } = await contentSize(root);
    checkDiskSize(o.sizeBytes, minimum, o.image);
    const file = diskFile(o.dir);
    o.onProgress({ step: "writing the root filesystem", bytes: 0, totalBytes: used });
    o.signal?.throwIfAborted();
    // Rootless, mkfs runs in podman's namespace: it reads every file and keeps its in-image owner.
    const cmd = await onImageRoot(root, { file: mkfs, args: mkfsArgs(root.path, file, o.sizeBytes) });
    const child = spawnOwned(cmd.file, cmd.args, {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
      buffer: true,
      ...(o.signal ? { cancelSignal: o.signal } : {}),
    });
    // Bytes written = what the sparse file has allocated so far.
    const timer = setInterval(() => {
      void stat(file).then(
        (s) => o.onProgress({ step: "writing the root filesystem", bytes: s.blocks * 512, totalBytes: progressTotal(used, s.blocks * 512) }),
        () => undefined,
      );
    }, 500);
    const r = await child.finally(() => clearInterval(timer));
    if (r.isCanceled) throw new BootcError("DISK_BUILD_FAILED", "the base-disk build was stopped");
    if (r.exitCode !== 0) {
      const err = `${String(r.stderr ?? "")}${String(r.stdout ?? "")}`.trim();
      if (/No space left on device|ENOSPC/i.test(err)) {
        throw new BootcError(
          "NO_SPACE",
          `the disk cache ran out of space while writing the base disk (${path.dirname(o.dir)})`,
          "free space there, prune unused disks (bootc disks prune), or move the cache with XDG_CACHE_HOME",
        );
      }
      throw new BootcError("DISK_BUILD_FAILED", `mkfs.ext4 failed: ${err.split("\n").slice(-3).join(" ") || `exit code ${r.exitCode}`}`);
    }
    o.onProgress({ step: "copying the kernel and initramfs" });
    // Copied out of the image; a UKI's parts were extracted into this directory already.
    const place = facts.uki ? rename : copyFile;
    await place(facts.kernel, path.join(o.dir, "vmlinuz"));
    await place(facts.initrd, path.join(o.dir, "initramfs.img"));
    const written = (await stat(file)).blocks * 512;
    o.onProgress({ step: "done", bytes: written, totalBytes: written });
    return directEntry(o, facts);
  } finally {
    await unmountImage(o.imageId);
  }
}
