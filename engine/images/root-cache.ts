/**
 * The cache of exported roots (images of another podman, images/remote-root.ts) as the
 * disk cache is seen: entries with their image, connection, age and size on the host;
 * removal that never leaves a half-removed tree looking complete; leftovers of dead
 * exporters swept. An entry is <rootfs>/<image id>/ (the tree) and <image id>.json (what
 * it is of), the latter written once the tree is complete.
 */
import { readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import * as z from "zod";
import { rootfsDir, rootfsEntryDir, rootfsMetaFile, rootfsPartialDir, type EnginePaths } from "../core/paths.js";
import { podmanConnectionSchema } from "../core/schema.js";
import type { PodmanConnection } from "../core/podman-connection.js";
import { isAlive } from "../core/proc.js";
import { podmanCommand } from "../host/podman.js";
import { asImageOwner, isRootless } from "../host/userns.js";

export const RootMetaSchema = z.object({
  image: z.string(),
  imageId: z.string(),
  podman: podmanConnectionSchema.optional(),
  createdAt: z.string(),
});
export type RootMeta = z.infer<typeof RootMetaSchema>;

export interface RootEntry extends RootMeta {
  /** The image id (64 hex digits): the directory's name. */
  key: string;
}

/** Written after the tree is complete (temp file, then rename): a reader sees all of it or none. */
export async function writeRootMeta(paths: EnginePaths, key: string, meta: RootMeta): Promise<void> {
  const file = rootfsMetaFile(paths, key);
  const tmp = `${file}.partial-${process.pid}`;
  await writeFile(tmp, JSON.stringify(meta, null, 2) + "\n", { mode: 0o600 });
  await rename(tmp, file);
}

/** Complete entries only (never a .partial-<pid>); one without its .json (an older export) is named by its id alone. */
export async function listRootEntries(paths: EnginePaths): Promise<RootEntry[]> {
  const out: RootEntry[] = [];
  for (const n of await readdir(rootfsDir(paths)).catch(() => [] as string[])) {
    if (!/^[0-9a-f]{64}$/.test(n)) continue;
    const s = await stat(rootfsEntryDir(paths, n)).catch(() => undefined);
    if (!s?.isDirectory()) continue;
    const text = await readFile(rootfsMetaFile(paths, n), "utf8").catch(() => undefined);
    const parsed = text ? RootMetaSchema.safeParse(JSON.parse(text)) : undefined;
    out.push({ key: n, ...(parsed?.success ? parsed.data : { image: "", imageId: n, createdAt: s.mtime.toISOString() }) });
  }
  return out;
}

/** Bytes the tree takes on the host: du, which counts a hard-linked file once. */
export async function rootUsage(paths: EnginePaths, key: string): Promise<number> {
  // Rootless, in podman's namespace: the user cannot enter a directory an image's daemon user keeps private.
  const du = await asImageOwner({ file: "du", args: ["-s", "-B1", "--", rootfsEntryDir(paths, key)] });
  const r = await execa(du.file, du.args, { reject: false });
  return r.exitCode === 0 ? Number(String(r.stdout).split(/\s/)[0]) || 0 : 0;
}

/**
 * Whether `image` on `c` still is `imageId`: false once it was rebuilt or removed there;
 * true when that podman cannot be asked now (unreachable, slow): what cannot be checked is kept.
 */
export async function rootImageCurrent(e: { image: string; imageId: string; podman?: PodmanConnection }): Promise<boolean> {
  if (!e.image || !e.podman) return true;
  const c: PodmanConnection = e.podman;
  const ask = async (args: string[]) => {
    const cmd = podmanCommand(args, c);
    return execa(cmd.file, cmd.args, { ...cmd.options, reject: false, timeout: 20_000, encoding: "utf8" });
  };
  const exists = await ask(["image", "exists", e.image]);
  // `image exists` exits 1 for a missing image only; anything else is podman (or the way there) failing.
  if (exists.exitCode === 1) return false;
  if (exists.exitCode !== 0) return true;
  const id = await ask(["image", "inspect", "--format", "{{.Id}}", e.image]);
  return (
    id.exitCode !== 0 ||
    String(id.stdout)
      .trim()
      .replace(/^sha256:/, "") === e.imageId.replace(/^sha256:/, "")
  );
}

/** Removes an entry: renamed first, so a half-removed tree is never taken for a complete one. */
export async function removeRootEntry(paths: EnginePaths, key: string): Promise<void> {
  const doomed = rootfsPartialDir(paths, key, process.pid);
  await rm(rootfsMetaFile(paths, key), { force: true });
  await rename(rootfsEntryDir(paths, key), doomed).catch(() => undefined);
  await removeTree(doomed);
}

/**
 * Removes an exported tree. Rootless it was unpacked in podman's namespace, its files owned
 * by the image's users (the user's subordinate ids), which the user cannot remove from
 * outside: rm runs in that namespace, as root there.
 */
export async function removeTree(dir: string): Promise<void> {
  if (!isRootless() || !(await stat(dir).catch(() => undefined))) return rm(dir, { recursive: true, force: true });
  const cmd = await asImageOwner({ file: "rm", args: ["-rf", "--", dir] });
  await execa(cmd.file, cmd.args, { reject: false });
  await rm(dir, { recursive: true, force: true });
}

/** Removes <id>.partial-<pid> trees (and metadata files) whose exporter is gone. */
export async function sweepDeadRoots(paths: EnginePaths): Promise<void> {
  for (const n of await readdir(rootfsDir(paths)).catch(() => [] as string[])) {
    const m = /\.partial-(\d+)$/.exec(n);
    if (m && !isAlive(Number(m[1]))) await removeTree(path.join(rootfsDir(paths), n));
  }
}
