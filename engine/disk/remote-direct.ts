/**
 * The direct builder for an image of another podman, run there: the image is never copied
 * here. A container of the image itself (it has mkfs.ext4 and GNU tar, as bootable images
 * do), with the image mounted read-only at /target, writes the ext4 base disk with
 * `mkfs.ext4 -d /target` — in that podman's user namespace, so every file keeps its
 * in-image owner — and streams it back as a sparse tar member, followed by the few files
 * the boot needs from the image (kernel, initramfs, the files the guest facts are read
 * from). Here it is unpacked into the cache's partial directory (disk/cache.ts), so an
 * interrupted build leaves no entry; the container there is removed by name whatever happens.
 */
import { spawn } from "node:child_process";
import { lstat, mkdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { BootcError } from "../core/errors.js";
import { describePodman, type PodmanConnection } from "../core/podman-connection.js";
import { podman, podmanCommand, remotePodmanError } from "../host/podman.js";
import { readGuestFacts } from "../images/rootfs.js";
import { diskFile, type DiskEntry } from "./cache.js";
import { checkDiskSize, directEntry, ROOT_LABEL, type DirectBuildRequest } from "./direct.js";
import { progressTotal, type DiskProgress } from "./progress.js";

/** The files of the image the boot and the guest facts need (images/rootfs.ts), as shell globs under /target. */
const FACT_GLOBS = [
  "usr/lib/modules/*/vmlinuz",
  "usr/lib/modules/*/initramfs.img",
  "usr/lib/modules/*/*.efi",
  "boot/EFI/Linux/*.efi",
  "etc/passwd",
  "usr/lib/passwd",
  "usr/sbin/sshd",
  "usr/bin/sshd",
  "etc/systemd/system/ssh.service",
  "etc/systemd/system/sshd.service",
  "usr/lib/systemd/libsystemd-shared-*",
  "usr/lib64/systemd/libsystemd-shared-*",
  "usr/lib/*-linux-gnu/systemd/libsystemd-shared-*",
];

/** What the probe prints: the root's size in bytes, a kernel it found (or nothing), and whether the builder's tools are there. */
export const PROBE_SCRIPT = [
  "echo used=$(du -s -B1 /target | cut -f1)",
  "echo kernel=$(ls -d /target/usr/lib/modules/*/vmlinuz /target/usr/lib/modules/*/*.efi /target/boot/EFI/Linux/*.efi 2>/dev/null | head -n 1)",
  "echo tools=$(command -v mkfs.ext4 >/dev/null && command -v tar >/dev/null && echo yes)",
].join("\n");

/** The tar stream of the disk at /out/disk.raw and the image's files the boot and the guest facts need (run in /target). */
const STREAM_TAIL = `exec tar --sparse --ignore-failed-read -cf - /out/disk.raw ${FACT_GLOBS.join(" ")}`;

/** The build, its size in KiB as $1 (an argument, never pasted into the script): mkfs there, then one tar stream on stdout. */
export const BUILD_SCRIPT = [
  "set -e",
  `echo "bootc-console-used $(du -s -B1 /target | cut -f1)" >&2`,
  "mkdir -p /out",
  `mkfs.ext4 -q -F -t ext4 -L ${ROOT_LABEL} -d /target -E root_owner=0:0 /out/disk.raw "$1"k >&2`,
  "cd /target",
  // Globs that match nothing stay as they are: tar skips them (--ignore-failed-read).
  STREAM_TAIL,
].join("\n");

/** A disk made there by another container (remote-install.ts), in a volume at /out: only streamed back. */
export const STREAM_SCRIPT = ["set -e", "cd /target", STREAM_TAIL].join("\n");

/** podman's arguments to run `script` in a container of the image with the image mounted at /target (read-only), no network. */
export function builderArgs(o: { name: string; imageId: string; script: string; args?: string[]; volume?: string }): string[] {
  if (!/^[0-9a-f]{64}$/.test(o.imageId.replace(/^sha256:/, ""))) throw new BootcError("INVALID_ARGUMENT", `"${o.imageId}" is not an image id`);
  const id = o.imageId.replace(/^sha256:/, "");
  return [
    "run",
    "--rm",
    "--name",
    o.name,
    "--label",
    "io.bootc-console.build=1",
    "--network=none",
    "--pull=never",
    "--user=0:0",
    "--mount",
    `type=image,source=${id},target=/target`,
    ...(o.volume ? ["-v", `${o.volume}:/out:ro`] : []),
    "--entrypoint",
    "/bin/sh",
    id,
    "-c",
    o.script,
    "sh",
    ...(o.args ?? []),
  ];
}

/** The probe's answer: bytes used, whether a kernel is there, whether mkfs.ext4 and tar are. */
export function parseProbe(out: string): { used: number; kernel: boolean; tools: boolean } {
  const v = (k: string) => new RegExp(`^${k}=(.*)$`, "m").exec(out)?.[1]?.trim() ?? "";
  return { used: Number(v("used")) || 0, kernel: v("kernel") !== "", tools: v("tools") === "yes" };
}

export const containerName = (tag: string) => `bootc-console-${tag}-${process.pid}-${Date.now().toString(36)}`;

/** Checked before any VM exists: the image there has a kernel and the builder's tools, and fits the disk. */
export async function probeRemoteImage(c: PodmanConnection, image: { ref: string; id: string }, sizeBytes: number): Promise<void> {
  const name = containerName("probe");
  try {
    const found = parseProbe(await podman(builderArgs({ name, imageId: image.id, script: PROBE_SCRIPT }), {}, c));
    if (!found.kernel)
      throw new BootcError(
        "IMAGE_NOT_BOOTABLE",
        `image "${image.ref}" has no kernel: expected /usr/lib/modules/<kver>/vmlinuz and initramfs.img, or a unified kernel image`,
        "is this a bootc image? Build one (bootc demo build) or add a kernel and a dracut initramfs",
      );
    if (!found.tools)
      throw new BootcError(
        "IMAGE_NOT_BOOTABLE",
        `image "${image.ref}" has no mkfs.ext4 or tar, which build its disk in ${describePodman(c)}`,
        "boot it in ephemeral mode (--mode ephemeral), or add e2fsprogs and tar to the image",
      );
    // The direct builder's rule (disk/direct.ts): ext4 metadata and room for the first boot on top.
    checkDiskSize(sizeBytes, Math.ceil((found.used * 1.15 + 256 * 1024 ** 2) / 1024 ** 2) * 1024 ** 2, image.ref);
  } finally {
    await podman(["rm", "--force", "--ignore", name], {}, c).catch(() => undefined);
  }
}

/** Why a base-disk build in another podman failed, from its output: no space there, the podman itself, or `failed` (one sentence). */
export function remoteBuildError(text: string, c: PodmanConnection, where: string, failed: string, hint?: string): BootcError {
  if (/No space left on device/i.test(text))
    return new BootcError(
      "NO_SPACE",
      `${where} ran out of space while building the base disk`,
      "free space there (podman system prune), or use a smaller --disk-size",
    );
  return remotePodmanError(text, c) ?? new BootcError("DISK_BUILD_FAILED", failed, hint);
}

/**
 * Moves the streamed disk (`stream`/out/disk.raw) to `dest`. The stream is the image's own
 * sh and tar talking: a symlink there (to /etc/shadow, a user's key) would otherwise become
 * the VM's base disk, readable by the image's initramfs, or land in an export. So the
 * directory and the file must be what they say: a real directory and a regular file.
 */
export async function takeStreamedDisk(stream: string, dest: string): Promise<void> {
  const out = path.join(stream, "out");
  const [dir, disk] = await Promise.all([lstat(out).catch(() => undefined), lstat(path.join(out, "disk.raw")).catch(() => undefined)]);
  if (!dir?.isDirectory() || !disk?.isFile()) {
    throw new BootcError(
      "DISK_INVALID",
      "the disk streamed back is not a plain file (a link or something else came in its place)",
      "rebuild it; if it happens again, the image's tar or sh is not to be trusted",
    );
  }
  await rename(path.join(out, "disk.raw"), dest);
}

/** Builds the base disk of `imageId` in `c` into `dir` (the cache's partial directory): disk.raw, vmlinuz, initramfs.img. */
export async function buildRemoteDirectDisk(o: DirectBuildRequest & { podman: PodmanConnection }): Promise<DiskEntry> {
  const where = describePodman(o.podman);
  const name = containerName("disk");
  const stream = path.join(o.dir, "stream");
  await mkdir(stream, { mode: 0o700 });
  o.onProgress({ step: `building the base disk in ${where}` });
  try {
    await streamBuild(o, name, stream, where);
    await takeStreamedDisk(stream, diskFile(o.dir));
    // A UKI's kernel and initramfs are taken out of it into `dir`; either way they are moved to the entry's names.
    const facts = await readGuestFacts(stream, o.image, o.dir);
    await rename(facts.kernel, path.join(o.dir, "vmlinuz"));
    await rename(facts.initrd, path.join(o.dir, "initramfs.img"));
    const written = (await stat(diskFile(o.dir))).blocks * 512;
    o.onProgress({ step: "done", bytes: written, totalBytes: written });
    return { ...directEntry(o, facts), podman: o.podman };
  } finally {
    await rm(stream, { recursive: true, force: true });
    await podman(["rm", "--force", "--ignore", name], {}, o.podman).catch(() => undefined);
  }
}

/** `podman run … | tar -x` with the bytes counted against the root's size (which the script reports first). */
export async function streamBuild(
  o: { podman: PodmanConnection; imageId: string; sizeBytes: number; onProgress: (p: DiskProgress) => void; signal?: AbortSignal },
  name: string,
  dir: string,
  where: string,
  /** Stream a disk another container made in this volume, instead of building one. */
  volume?: string,
): Promise<void> {
  const run = volume
    ? builderArgs({ name, imageId: o.imageId, script: STREAM_SCRIPT, volume })
    : builderArgs({ name, imageId: o.imageId, script: BUILD_SCRIPT, args: [String(Math.floor(o.sizeBytes / 1024))] });
  const cmd = podmanCommand(run, o.podman);
  const builder = spawn(cmd.file, cmd.args, { env: cmd.options.env as NodeJS.ProcessEnv | undefined, stdio: ["ignore", "pipe", "pipe"], signal: o.signal });
  const untar = spawn("tar", ["-x", "-f", "-", "-C", dir, "--numeric-owner"], { stdio: ["pipe", "ignore", "pipe"], signal: o.signal });
  let errors = "";
  let untarErrors = "";
  let used = 0;
  builder.stderr.on("data", (d: Buffer) => {
    errors = (errors + d.toString()).slice(-4000);
    used ||= Number(/bootc-console-used (\d+)/.exec(errors)?.[1] ?? 0);
  });
  untar.stderr.on("data", (d: Buffer) => (untarErrors = (untarErrors + d.toString()).slice(-4000)));
  const exited = (p: ReturnType<typeof spawn>) =>
    new Promise<number>((resolve) => {
      p.once("error", () => resolve(-1));
      p.once("close", (code) => resolve(code ?? -1));
    });
  const done = Promise.all([exited(builder), exited(untar)]);
  let bytes = 0;
  let last = 0;
  const step = `copying the base disk from ${where}`;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      if (bytes - last > 4 * 1024 * 1024 || last === 0) {
        last = bytes;
        // The disk's allocated blocks are the content plus ext4's metadata: the root's size is the estimate.
        o.onProgress({ step, bytes, totalBytes: progressTotal(Math.round(used * 1.05), bytes) });
      }
      cb(null, chunk);
    },
  });
  const piped = pipeline(builder.stdout, counter, untar.stdin).catch((e: unknown) => e);
  const [buildCode, untarCode] = await done;
  await piped;
  if (o.signal?.aborted) throw new BootcError("DISK_BUILD_FAILED", "the base-disk build was stopped");
  if (buildCode !== 0) {
    const text = errors.replace(/bootc-console-used \d+\n?/, "").trim();
    throw remoteBuildError(text, o.podman, where, `building the base disk in ${where} failed: ${text.split("\n").pop() || `exit code ${buildCode}`}`);
  }
  if (untarCode !== 0) {
    const full = /no space left/i.test(untarErrors);
    throw new BootcError(
      full ? "NO_SPACE" : "DISK_BUILD_FAILED",
      `unpacking the base disk from ${where} failed: ${untarErrors.trim().split("\n").pop() ?? ""}`,
      full ? "free space in the disk cache (bootc disks prune), or move it with XDG_CACHE_HOME" : "check that GNU tar is installed",
    );
  }
}
