/**
 * `bootc to-disk IMAGE FILE`: a bootable disk image to take to other virtualisation tools
 * (libvirt, a cloud import), made from the image's cached base disk.
 * - A base made by `bootc install` is a whole bootable disk already: it is converted.
 * - A direct-built base is a bare ext4 root with the kernel beside it: it gets a GPT with an
 *   EFI system partition (the host's systemd-boot, the image's kernel and initramfs, one
 *   loader entry that finds the root by its partition UUID) in front of that root, so any
 *   UEFI firmware boots it.
 * The result is written under a temporary name next to FILE and renamed into place only
 * when complete: FILE is either absent or whole.
 */
import { randomUUID } from "node:crypto";
import { access, copyFile, mkdtemp, readdir, rename, rm, stat, truncate, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { BootcError } from "../core/errors.js";
import { hostArch, requireTool } from "../host/tools.js";
import { ARCH_PROFILES, guestArch, isForeign, podmanArchName, type GuestArch } from "../host/arch.js";
import { mountImage, unmountImage } from "../images/rootfs.js";
import type { EnginePaths } from "../core/paths.js";
import { spawnOwned } from "../host/spawn.js";
import { ensureImage, type PullHooks, type PullPolicy } from "../images/pull.js";
import { inspectImage } from "../images/images.js";
import { ensureBaseDisk } from "./boot.js";
import { probeRemoteImage } from "./remote-direct.js";
import { requireRootfulPodman } from "./remote-install.js";
import { isRemotePodman, type PodmanConnection } from "../core/podman-connection.js";
import { DEFAULT_DISK_SIZE, qemuOptionValue } from "../core/schema.js";
import type { VmDisk } from "../core/record.js";
import { planImageDisk } from "./plan.js";
import { diskFile, entryDir, type DiskEntry } from "./cache.js";
import type { DiskProgress } from "./progress.js";

export const EXPORT_FORMATS = ["raw", "qcow2", "vmdk"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const ESP_MIB = 128;
const ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
const LINUX_TYPE = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";

/**
 * systemd-boot for the guest's architecture, as the removable-media loader: the image's own
 * (a bootc image that ships systemd-boot), else the host's — for another architecture than
 * the host's, Debian's multiarch package (systemd-boot-efi:arm64) puts it at the same path.
 */
export function systemdBootCandidates(arch: GuestArch, imageView?: string): { files: string[]; removablePath: string } {
  const efi = arch === "aarch64" ? "aa64" : "x64";
  const rel = `usr/lib/systemd/boot/efi/systemd-boot${efi}.efi`;
  return { files: [...(imageView ? [path.join(imageView, rel)] : []), `/${rel}`], removablePath: `::/EFI/BOOT/BOOT${efi.toUpperCase()}.EFI` };
}

async function systemdBootEfi(arch: GuestArch, imageId: string, work: string, remote = false): Promise<{ file: string; removablePath: string }> {
  // Only another architecture's is looked for in the image: the host's own path is what
  // every x86_64 export has used, and stays so. An image of another podman is not here to
  // look in: the host's (multiarch) one then.
  const foreign = arch !== hostArch() && !remote;
  const root = foreign ? await mountImage(imageId) : undefined;
  try {
    const c = systemdBootCandidates(arch, root?.view);
    for (const file of c.files) {
      if (
        await access(file).then(
          () => true,
          () => false,
        )
      ) {
        if (!root || !file.startsWith(root.view)) return { file, removablePath: c.removablePath };
        // Copied out: the image is unmounted before the ESP is written.
        const copy = path.join(work, path.basename(file));
        await copyFile(file, copy);
        return { file: copy, removablePath: c.removablePath };
      }
    }
    const pkg = foreign
      ? `install it in the image (Debian: systemd-boot-efi; Fedora: systemd-boot-unsigned), or on this host: dpkg --add-architecture ${podmanArchName(arch)} && apt-get update && apt-get install systemd-boot-efi:${podmanArchName(arch)}`
      : "apt-get install systemd-boot-efi (dnf install systemd-boot-unsigned)";
    throw new BootcError(
      "MISSING_TOOL",
      `${c.files[c.files.length - 1]} is missing: a direct-built disk needs ${foreign ? `${podmanArchName(arch)} ` : "the host's "}systemd-boot to boot elsewhere`,
      pkg,
    );
  } finally {
    if (root) await unmountImage(imageId);
  }
}

/** The loader entry of an exported direct-built disk: the root by PARTUUID, whatever the disk's bus. */
export function loaderEntry(partUuid: string, title: string, arch: GuestArch = "x86_64"): string {
  // Both consoles: a serial one for headless tools, the screen for viewers; the last is /dev/console.
  return `title ${title}\nlinux /vmlinuz\ninitrd /initramfs.img\noptions root=PARTUUID=${partUuid} rootfstype=ext4 rw console=tty0 console=${ARCH_PROFILES[arch].console}\n`;
}

/** The sfdisk script for an ESP of ESP_MIB and a root of rootMiB after it. */
export function partitionScript(rootMiB: number, rootUuid: string): string {
  return [
    "label: gpt",
    `start=1MiB, size=${ESP_MIB}MiB, type=${ESP_TYPE}, name=esp`,
    `start=${1 + ESP_MIB}MiB, size=${rootMiB}MiB, type=${LINUX_TYPE}, uuid=${rootUuid}, name=root`,
    "",
  ].join("\n");
}

/** A UEFI-bootable GPT disk around a direct-built base (an ext4 root), written to `out` (raw). */
async function assembleUefiDisk(
  entry: DiskEntry,
  dir: string,
  out: string,
  work: string,
  arch: GuestArch,
  onProgress: (p: DiskProgress) => void,
  remote = false,
): Promise<void> {
  const boot = await systemdBootEfi(arch, entry.imageId, work, remote);
  const [mkfsVfat, mmd, mcopy, sfdisk, qemuImg] = ["mkfs.vfat", "mmd", "mcopy", "sfdisk", "qemu-img"].map((t) => requireTool(t));
  onProgress({ step: "making the EFI system partition" });
  const esp = path.join(work, "esp.img");
  await writeFile(esp, "");
  await truncate(esp, ESP_MIB * 1024 * 1024);
  await execa(mkfsVfat!, ["-n", "ESP", esp]);
  await execa(mmd!, ["-i", esp, "::/EFI", "::/EFI/BOOT", "::/loader", "::/loader/entries"]);
  const rootUuid = randomUUID();
  await writeFile(path.join(work, "loader.conf"), "default bootc.conf\ntimeout 0\n");
  await writeFile(path.join(work, "bootc.conf"), loaderEntry(rootUuid, entry.image, arch));
  for (const [from, to] of [
    [boot.file, boot.removablePath],
    [path.join(dir, entry.kernel ?? "vmlinuz"), "::/vmlinuz"],
    [path.join(dir, entry.initrd ?? "initramfs.img"), "::/initramfs.img"],
    [path.join(work, "loader.conf"), "::/loader/loader.conf"],
    [path.join(work, "bootc.conf"), "::/loader/entries/bootc.conf"],
  ] as const) {
    await execa(mcopy!, ["-i", esp, from, to]);
  }
  onProgress({ step: "laying out the disk (GPT: EFI system partition, root)" });
  const root = diskFile(dir);
  const rootMiB = Math.ceil((await stat(root)).size / 1024 / 1024);
  await writeFile(out, "");
  await truncate(out, (1 + ESP_MIB + rootMiB + 1) * 1024 * 1024);
  await execa(sfdisk!, ["--quiet", out], { input: partitionScript(rootMiB, rootUuid) });
  for (const [file, offsetMiB] of [
    [esp, 1],
    [root, 1 + ESP_MIB],
  ] as const) {
    // Written in place at the partition's offset, sparse: qemu-img asks the source for its
    // data extents and skips the holes (the root is mostly holes), where `dd conv=sparse`
    // read and compared every zero byte of them (21-33 s of CPU per disk on the 2-core
    // test host). The target was just made by truncate: it is zero, nothing to clear first.
    const { size } = await stat(file);
    await execa(qemuImg!, [
      "convert",
      "-n",
      "--target-is-zero",
      // The base disk may be a running VM's backing file: it is never written after it is built.
      "-U",
      "-f",
      "raw",
      path.resolve(file),
      "--target-image-opts",
      `driver=raw,offset=${offsetMiB * 1024 * 1024},size=${size},file.driver=file,file.filename=${qemuOptionValue(path.resolve(out))}`,
    ]);
  }
}

export interface ExportOptions {
  image: string;
  imageId: string;
  builder: "direct" | "install";
  sizeBytes: number;
  filesystem: string;
  file: string;
  format: ExportFormat;
  /** The image's architecture (default the host's): its systemd-boot and serial console. */
  arch?: GuestArch;
  /** The image is in another podman: its base disk is built there (ensureBaseDisk); it is never mounted here. */
  podman?: PodmanConnection;
  onProgress?: (p: DiskProgress) => void;
  signal?: AbortSignal;
}

export interface ExportResult {
  file: string;
  format: ExportFormat;
  /** Bytes the file takes on disk (sparse). */
  bytes: number;
  builder: "direct" | "install";
  /** The base disk came from the cache. */
  reused: boolean;
}

/** The file must not exist and its directory must: checked before any work (and again before writing). */
export async function checkExportTarget(target: string): Promise<string> {
  const file = path.resolve(target);
  if (
    await stat(file).then(
      () => true,
      () => false,
    )
  )
    throw new BootcError("INVALID_ARGUMENT", `${file} already exists`, "remove it, or give another file name");
  if (
    !(await stat(path.dirname(file)).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    throw new BootcError("INVALID_ARGUMENT", `the directory of ${file} does not exist`, "create it, or give another path");
  return file;
}

export async function exportDisk(paths: EnginePaths, o: ExportOptions): Promise<ExportResult> {
  const onProgress = o.onProgress ?? (() => undefined);
  const file = await checkExportTarget(o.file);
  const qemuImg = requireTool("qemu-img");
  const { entry, reused } = await ensureBaseDisk(paths, o, onProgress, o.signal);
  const dir = entryDir(paths, entry.key);
  // An export killed before it finished left its work directory: it is of no use now.
  const partial = `.${path.basename(file)}.partial-`;
  for (const name of await readdir(path.dirname(file))) {
    if (name.startsWith(partial)) await rm(path.join(path.dirname(file), name), { recursive: true, force: true });
  }
  // Next to the target: the same filesystem, so the final rename is atomic.
  const work = await mkdtemp(path.join(path.dirname(file), partial));
  try {
    // A direct-built base is assembled into a whole disk here; an install-built one is one already.
    const assembled = entry.builder === "direct";
    const raw = assembled ? path.join(work, "disk.raw") : diskFile(dir);
    if (assembled) await assembleUefiDisk(entry, dir, raw, work, o.arch ?? hostArch(), onProgress, !!o.podman);
    const tmp = path.join(work, `out.${o.format}`);
    const size = (await stat(raw)).size;
    onProgress({ step: `writing ${o.format}`, bytes: 0, totalBytes: size });
    if (o.format === "raw") {
      // The cached base stays in the cache: copied, never moved.
      await (assembled ? rename(raw, tmp) : execa("cp", ["--sparse=always", raw, tmp]));
    } else {
      const child = spawnOwned(qemuImg, ["convert", "-p", "-f", "raw", "-O", o.format, ...(o.format === "qcow2" ? ["-c"] : []), raw, tmp], {
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
        buffer: true,
        ...(o.signal ? { cancelSignal: o.signal } : {}),
      });
      child.stdout?.on("data", (d: Buffer) => {
        const m = /\((\d+(?:\.\d+)?)\/100%\)/.exec(d.toString());
        if (m) onProgress({ step: `writing ${o.format}`, bytes: Math.round((Number(m[1]) / 100) * size), totalBytes: size });
      });
      const r = await child;
      if (r.isCanceled) throw new BootcError("DISK_BUILD_FAILED", "the export was stopped");
      if (r.exitCode !== 0)
        throw new BootcError(
          "DISK_BUILD_FAILED",
          `qemu-img convert failed: ${String(r.stderr).trim().split("\n").pop() ?? r.exitCode}`,
          "check free space where the file goes",
        );
    }
    await rename(tmp, file);
    onProgress({ step: "done", bytes: size, totalBytes: size });
    return { file, format: o.format, bytes: (await stat(file)).blocks * 512, builder: entry.builder, reused };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * `bootc to-disk`: the image (pulled by `pull`'s policy), its base disk planned as disk mode
 * plans it, then exported. `podman`: the image is in another podman; its base disk is
 * built there as disk mode builds it (the direct builder, disk/remote-direct.ts), streamed
 * into the local cache, and the file is written here.
 */
export async function exportImageDisk(
  paths: EnginePaths,
  o: {
    image: string;
    file: string;
    format?: ExportFormat;
    builder?: "auto" | "direct" | "install";
    sizeBytes?: number;
    filesystem?: "ext4" | "xfs" | "btrfs";
    pull?: PullPolicy;
    onProgress?: (p: DiskProgress) => void;
    pullHooks?: PullHooks;
    signal?: AbortSignal;
    podman?: PodmanConnection;
  },
): Promise<ExportResult> {
  const format = o.format ?? "qcow2";
  if (!(EXPORT_FORMATS as readonly string[]).includes(format))
    throw new BootcError("INVALID_ARGUMENT", `--format ${format} is not one of ${EXPORT_FORMATS.join(", ")}`, "use qcow2 (libvirt, most tools), raw, or vmdk");
  await checkExportTarget(o.file);
  const c = isRemotePodman(o.podman) ? o.podman : undefined;
  await ensureImage(o.image, o.pull ?? "missing", o.pullHooks, paths, c);
  const image = await inspectImage(o.image, c);
  const arch = guestArch(image.arch, hostArch());
  const disk = c
    ? await planRemoteDisk(c, o, image, isForeign(arch, hostArch()))
    : await planImageDisk({ builder: o.builder ?? "auto", sizeBytes: o.sizeBytes, filesystem: o.filesystem ?? "ext4" }, { ref: o.image, id: image.id }, arch);
  if (disk.builder === "premade") throw new BootcError("INVALID_ARGUMENT", "a premade disk cannot be exported", "convert it with qemu-img convert");
  return exportDisk(paths, {
    image: o.image,
    imageId: image.id,
    builder: disk.builder,
    sizeBytes: disk.sizeBytes,
    filesystem: disk.filesystem,
    file: o.file,
    format,
    arch,
    onProgress: o.onProgress,
    signal: o.signal,
    ...(c ? { podman: c } : {}),
  });
}

/** Disk mode's plan for an image of another podman: the direct builder there (auto picks it), the image probed there first. */
async function planRemoteDisk(
  c: PodmanConnection,
  o: { image: string; builder?: "auto" | "direct" | "install"; sizeBytes?: number; filesystem?: "ext4" | "xfs" | "btrfs" },
  image: { id: string },
  foreign: boolean,
): Promise<VmDisk> {
  const builder = o.builder === "install" ? "install" : "direct";
  // As `run` checks them (vm/target.ts): the install builder needs a rootful podman there, and runs the host's architecture only.
  if (builder === "install") {
    if (foreign) throw new BootcError("INVALID_ARGUMENT", "the install builder is not supported for an image of another architecture", "use --builder direct");
    await requireRootfulPodman(c);
  }
  const disk: VmDisk = { builder, sizeBytes: o.sizeBytes ?? DEFAULT_DISK_SIZE, filesystem: o.filesystem ?? "ext4" };
  if (builder === "direct") await probeRemoteImage(c, { ref: o.image, id: image.id }, disk.sizeBytes);
  return disk;
}
