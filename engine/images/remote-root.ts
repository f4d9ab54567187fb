/**
 * The root filesystem of an image that lives in another podman (a connection), for an
 * ephemeral boot here: the image is never copied into the local podman. Its root is
 * exported once per image id into the local cache (<cache>/rootfs/<id>/) and served by
 * virtiofsd as a mounted image is; every VM of that image reuses it.
 *
 * How: `podman create` a container of the image there (it never runs), stream `podman
 * export` of it into GNU tar here, remove the container. Rather than `podman image save`
 * and unpacking the layers here, because the remote applies the layers itself: one stream
 * of the final tree (no bytes of files a later layer replaced or deleted), and no OCI
 * whiteout and opaque-directory rules to get subtly wrong on this side. The archive keeps
 * owners, modes, hard links and the security xattrs (file capabilities, as
 * SCHILY.xattr.security.capability); tar restores them as root (numeric owners, same
 * permissions, --xattrs) — for a regular user, as root in its podman's user namespace, so
 * the owners are its subordinate ids as in its own podman storage, and file capabilities
 * are the namespace's own (the kernel records its root id with them). It is unpacked into <id>.partial-<pid> and renamed when
 * complete, so an interrupted export leaves no entry: SIGINT or SIGTERM during it ends
 * the stream and removes the partial tree and the container there before the error
 * surfaces; a process killed outright leaves its partial tree to the next export (or
 * `bootc disks prune`), which removes those of processes that are gone.
 */
import { spawn } from "node:child_process";
import { constants, createReadStream, type ReadStream } from "node:fs";
import { chmod, mkdir, mkdtemp, open, rename, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { BootcError } from "../core/errors.js";
import { rootfsDir, rootfsEntryDir, rootfsPartialDir, type EnginePaths } from "../core/paths.js";
import { describePodman, type PodmanConnection } from "../core/podman-connection.js";
import { ensurePrivateDir } from "../core/private-dir.js";
import { podman, podmanCommand, remotePodmanError } from "../host/podman.js";
import { asImageOwner } from "../host/userns.js";
import { removeTree, sweepDeadRoots, writeRootMeta } from "./root-cache.js";

/** Progress of an export: the bytes of the stream against the image's size (the shape of a disk build's progress). */
export interface ExportProgress {
  step: string;
  bytes?: number;
  totalBytes?: number;
}

export interface RemoteImage {
  ref: string;
  /** The image id (sha256 of its config): the cache key. */
  id: string;
  sizeBytes: number;
}

/** The cached root of `id`, if exported already. */
export async function cachedRoot(paths: EnginePaths, id: string): Promise<string | undefined> {
  const dir = rootfsEntryDir(paths, imageKey(id));
  return (await stat(dir).catch(() => undefined))?.isDirectory() ? dir : undefined;
}

/** An image id as a cache key: 64 hex digits, never a path of another shape. */
export function imageKey(id: string): string {
  const key = id.replace(/^sha256:/, "");
  if (!/^[0-9a-f]{64}$/.test(key)) throw new BootcError("INVALID_ARGUMENT", `"${id}" is not an image id`, "an image id is 64 hexadecimal digits");
  return key;
}

/** tar's arguments to unpack an exported container into `dir` as it was: owners by number, modes, xattrs (file capabilities). */
export function untarArgs(dir: string): string[] {
  return ["-x", "-f", "-", "-C", dir, "--numeric-owner", "--same-owner", "--same-permissions", "--xattrs", "--xattrs-include=*"];
}

/**
 * The local directory with `image`'s root filesystem, exported from `c` now unless cached.
 * `onProgress` gets the bytes of the stream against the image's size.
 */
export async function exportedRoot(
  c: PodmanConnection,
  image: RemoteImage,
  paths: EnginePaths,
  onProgress: (p: ExportProgress) => void = () => undefined,
): Promise<{ dir: string; reused: boolean }> {
  const key = imageKey(image.id);
  const cached = await cachedRoot(paths, key);
  if (cached) return { dir: cached, reused: true };
  await ensurePrivateDir(rootfsDir(paths), paths);
  await sweepDeadRoots(paths);
  const partial = rootfsPartialDir(paths, key, process.pid);
  await removeTree(partial);
  await mkdir(partial, { mode: 0o755 });
  const step = `exporting the root filesystem from ${describePodman(c)}`;
  onProgress({ step, bytes: 0, totalBytes: image.sizeBytes });
  // Ctrl+C (or a stop) mid-export: end the stream and clean up here, rather than die with a partial tree and a container there.
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let container: string | undefined;
  try {
    // A container that never runs: its command is only there because podman wants one.
    container = (await podman(["create", "--network=none", "--label", "io.bootc-console.export=1", key, "/bootc-console-export"], {}, c)).trim();
    if (interrupt.signal.aborted) throw interrupted();
    await streamExport(c, container, partial, interrupt.signal, (bytes) =>
      onProgress({ step, bytes: Math.min(bytes, image.sizeBytes), totalBytes: image.sizeBytes }),
    ).catch((e: unknown) => {
      throw interrupt.signal.aborted ? interrupted() : e;
    });
    // tar sets the modes of the tree's directories but not of the directory it unpacks into.
    await chmod(partial, 0o755);
    await rename(partial, rootfsEntryDir(paths, key)).catch(async (e: NodeJS.ErrnoException) => {
      // Another export of the same image finished first: its copy is as good.
      if (e.code !== "ENOTEMPTY" && e.code !== "EEXIST") throw e;
      await removeTree(partial);
    });
    await writeRootMeta(paths, key, { image: image.ref, imageId: key, podman: c, createdAt: new Date().toISOString() });
    onProgress({ step, bytes: image.sizeBytes, totalBytes: image.sizeBytes });
    return { dir: rootfsEntryDir(paths, key), reused: false };
  } catch (e) {
    await removeTree(partial);
    throw e;
  } finally {
    if (container) await podman(["rm", "--force", container], {}, c).catch(() => undefined);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

const interrupted = () =>
  new BootcError("PODMAN_FAILED", "the export of the image's root filesystem was interrupted; nothing of it was kept", "run the command again to export it");

/**
 * `podman export CONTAINER | tar -x` with the bytes counted; either side failing fails it,
 * with its own words. The remote client opens its output by name (/dev/stdout), which a
 * socket (what Node gives a child as a pipe) cannot be opened as: it writes to a FIFO instead.
 */
async function streamExport(c: PodmanConnection, container: string, dir: string, signal: AbortSignal, onBytes: (n: number) => void): Promise<void> {
  const fifoDir = await mkdtemp(path.join(os.tmpdir(), "bootc-export-"));
  try {
    const fifo = path.join(fifoDir, "root.tar");
    await execa("mkfifo", ["-m", "600", fifo]);
    await streamThrough(c, container, fifo, dir, signal, onBytes);
  } finally {
    await rm(fifoDir, { recursive: true, force: true });
  }
}

/**
 * Ends a FIFO's reader whose writer is gone without ever opening it: the reader's open(2)
 * would wait for a writer for good. A write end opened non-blocking fails while no reader
 * has reached open(2) yet (Node opens on its thread pool, perhaps later), so a read-write
 * end is held (that never blocks on Linux) until the reader is open, then closed: the
 * reader sees end of file.
 */
export function releaseReader(fifo: string, reader: ReadStream): void {
  if (reader.pending === false || reader.destroyed) return;
  void open(fifo, constants.O_RDWR).then(
    (h) => {
      const close = () => void h.close().catch(() => undefined);
      if (reader.pending === false || reader.destroyed) return close();
      reader.once("open", close);
      reader.once("close", close);
    },
    () => undefined,
  );
}

async function streamThrough(
  c: PodmanConnection,
  container: string,
  fifo: string,
  dir: string,
  signal: AbortSignal,
  onBytes: (n: number) => void,
): Promise<void> {
  const cmd = podmanCommand(["export", "--output", fifo, container], c);
  const env = cmd.options.env as NodeJS.ProcessEnv | undefined;
  const exporter = spawn(cmd.file, cmd.args, { env, stdio: ["ignore", "ignore", "pipe"], signal });
  // Rootless, tar runs as root in podman's namespace: the image's owners become the user's subordinate ids, as podman's own storage keeps them.
  const tar = await asImageOwner({ file: "tar", args: untarArgs(dir) });
  const untar = spawn(tar.file, tar.args, { stdio: ["pipe", "ignore", "pipe"], signal });
  const errors = { exporter: "", untar: "" };
  exporter.stderr.on("data", (d: Buffer) => (errors.exporter = (errors.exporter + d.toString()).slice(-4000)));
  untar.stderr.on("data", (d: Buffer) => (errors.untar = (errors.untar + d.toString()).slice(-4000)));
  const exited = (p: ReturnType<typeof spawn>) =>
    new Promise<number>((resolve) => {
      p.once("error", () => resolve(-1));
      p.once("close", (code) => resolve(code ?? -1));
    });
  const done = Promise.all([exited(exporter), exited(untar)]);
  let bytes = 0;
  let last = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      // A line per ~1% is enough for a bar; not one per 64 KiB chunk.
      if (bytes - last > 4 * 1024 * 1024) {
        last = bytes;
        onBytes(bytes);
      }
      cb(null, chunk);
    },
  });
  const reader = createReadStream(fifo);
  // An exporter that fails before it opens the FIFO would leave the reader waiting for a writer.
  exporter.once("close", () => releaseReader(fifo, reader));
  const piped = pipeline(reader, counter, untar.stdin).catch((e: unknown) => e);
  const [exportCode, untarCode] = await done;
  await piped;
  if (exportCode !== 0) {
    const text = errors.exporter.trim();
    throw (
      remotePodmanError(text, c) ??
      new BootcError("PODMAN_FAILED", `podman export on ${describePodman(c)} failed: ${text.split("\n").pop() ?? ""}`, "run `podman --remote info` to check it")
    );
  }
  if (untarCode !== 0) {
    const text = errors.untar.trim();
    const full = /no space left/i.test(text);
    throw new BootcError(
      full ? "NO_SPACE" : "PODMAN_FAILED",
      `unpacking the image's root filesystem failed: ${text.split("\n").pop() ?? ""}`,
      full ? "free space in the cache directory (bootc disks prune, or remove its rootfs entries)" : "check that GNU tar is installed",
    );
  }
}
