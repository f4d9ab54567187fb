/**
 * The base-disk cache: one entry per (image digest, builder, install options, builder
 * version) under <cache>/disks/<key>/. An entry is built in <key>.partial-<pid> and
 * renamed into place only when complete, so an interrupted build never leaves a
 * usable-looking entry; leftovers of dead builders are swept before the next build.
 * Builds of one key are serialised by <key>.lock (O_EXCL, holding the builder's pid):
 * of two VMs booting one image at once, one builds and the other waits and reuses it.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import * as z from "zod";
import { BootcError } from "../core/errors.js";
import { isAlive } from "../core/proc.js";
import { tryLock, unlock } from "../core/lockfile.js";
import { diskBuildLock, diskEntryDir, diskPartialDir, disksDir, type EnginePaths } from "../core/paths.js";
import { ensurePrivateDir } from "../core/private-dir.js";
import { podmanConnectionSchema } from "../core/schema.js";
import { removeWarmEntriesOn } from "./warm-cache.js";

export const BUILDERS = ["direct", "install"] as const;
export type Builder = (typeof BUILDERS)[number];

/** Bumped when a builder's output changes, so old entries are not reused. */
export const BUILDER_VERSION = { direct: 1, install: 1 } as const;

export const DiskEntrySchema = z.object({
  key: z.string(),
  image: z.string(),
  imageId: z.string(),
  builder: z.enum(BUILDERS),
  builderVersion: z.number().int(),
  sizeBytes: z.number().int(),
  filesystem: z.string(),
  createdAt: z.string(),
  /** Direct builder: the image's kernel and initramfs, copied next to the disk. */
  kernel: z.string().optional(),
  initrd: z.string().optional(),
  guestSystemd: z.number().int().optional(),
  sshd: z.boolean(),
  /** The image's users (absent in entries made before this was recorded). */
  users: z.array(z.string()).optional(),
  /** The podman the image is in, when not the local one: the disk was built there (disk/remote-direct.ts). */
  podman: podmanConnectionSchema.optional(),
});
export type DiskEntry = z.infer<typeof DiskEntrySchema>;

export interface DiskSpec {
  imageId: string;
  builder: Builder;
  sizeBytes: number;
  filesystem: string;
}

export function diskKey(s: DiskSpec): string {
  const text = JSON.stringify([s.imageId, s.builder, BUILDER_VERSION[s.builder], s.sizeBytes, s.filesystem]);
  return createHash("sha256").update(text).digest("hex").slice(0, 24);
}

export { disksDir };
export const entryDir = diskEntryDir;
export const diskFile = (dir: string) => path.join(dir, "disk.raw");

export async function readEntry(paths: EnginePaths, key: string): Promise<DiskEntry | undefined> {
  const text = await readFile(path.join(entryDir(paths, key), "entry.json"), "utf8").catch(() => undefined);
  if (!text) return undefined;
  const parsed = DiskEntrySchema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : undefined;
}

export async function listEntries(paths: EnginePaths): Promise<DiskEntry[]> {
  const names = await readdir(disksDir(paths)).catch(() => [] as string[]);
  const out: DiskEntry[] = [];
  for (const n of names.filter((n) => /^[0-9a-f]{24}$/.test(n))) {
    const e = await readEntry(paths, n);
    if (e) out.push(e);
  }
  return out;
}

/** Bytes the entry's files take on disk (sparse files count what is allocated). */
export async function entryUsage(paths: EnginePaths, key: string): Promise<number> {
  const dir = entryDir(paths, key);
  let total = 0;
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    const s = await stat(path.join(dir, n)).catch(() => undefined);
    if (s) total += s.blocks * 512;
  }
  return total;
}

/** Removes <key>.partial-<pid> directories and stale locks whose builder is gone. */
async function sweepDead(paths: EnginePaths): Promise<void> {
  for (const n of await readdir(disksDir(paths)).catch(() => [] as string[])) {
    const m = /\.partial-(\d+)$/.exec(n);
    if (m && !isAlive(Number(m[1]))) await rm(path.join(disksDir(paths), n), { recursive: true, force: true });
  }
}

export type BuildFn = (dir: string, key: string) => Promise<DiskEntry>;

/**
 * The cached entry for `spec`, building it with `build` (into a temp directory) when
 * missing. `reused` says whether it came from the cache.
 */
export async function ensureEntry(
  paths: EnginePaths,
  spec: DiskSpec,
  build: BuildFn,
  onWait: () => void = () => undefined,
): Promise<{ entry: DiskEntry; reused: boolean }> {
  const key = diskKey(spec);
  await ensurePrivateDir(disksDir(paths), paths);
  const lock = diskBuildLock(paths, key);
  let waited = false;
  for (;;) {
    const existing = await readEntry(paths, key);
    if (existing) return { entry: existing, reused: true };
    if (await tryLock(lock)) break;
    if (!waited) onWait();
    waited = true;
    await sleep(500);
  }
  try {
    const again = await readEntry(paths, key);
    if (again) return { entry: again, reused: true };
    await sweepDead(paths);
    const tmp = diskPartialDir(paths, key, process.pid);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { mode: 0o700 });
    try {
      const entry = await build(tmp, key);
      await writeFile(path.join(tmp, "entry.json"), JSON.stringify(entry, null, 2) + "\n");
      await rename(tmp, entryDir(paths, key));
      return { entry, reused: false };
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
  } finally {
    await unlock(lock);
  }
}

/** Removes an entry; refuses while a VM uses it (`usedBy` lists them). */
export async function removeEntry(paths: EnginePaths, key: string, usedBy: string[]): Promise<void> {
  if (usedBy.length) {
    throw new BootcError("DISK_IN_USE", `base disk ${key} is used by ${usedBy.join(", ")}`, `remove those VMs first (bootc rm ${usedBy.join(" ")})`);
  }
  // Rename first so a half-deleted entry is never mistaken for a complete one.
  const doomed = diskPartialDir(paths, key, process.pid);
  await rename(entryDir(paths, key), doomed).catch(() => undefined);
  await rm(doomed, { recursive: true, force: true });
  // Warm starts saved on this base go with it: a base rebuilt later need not match their overlays.
  await removeWarmEntriesOn(paths, [key]);
}
