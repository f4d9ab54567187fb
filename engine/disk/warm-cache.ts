/**
 * Warm starts (`bootc run --rm --warm`): per image digest and boot options, one disk VM's
 * state just after its boot — its overlay holding a memory snapshot taken once SSH
 * answered, and the SSH key its guest trusts — under <cache>/warm/<key>/. A warm one-shot
 * restores a private copy of it instead of booting (docs/disks.md, "Warm starts"). An
 * entry is made in <key>.partial-<pid> and renamed into place only when complete; it goes
 * with its base disk (prune, rm).
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import * as z from "zod";
import type { EnginePaths } from "../core/paths.js";
import { ensurePrivateDir } from "../core/private-dir.js";
import { isAlive } from "../core/proc.js";

/** The snapshot every warm entry's overlay holds. */
export const WARM_TAG = "warm";

export const warmDir = (paths: EnginePaths) => path.join(paths.cache, "warm");
export const warmEntryDir = (paths: EnginePaths, key: string) => path.join(warmDir(paths), key);

export const WarmEntrySchema = z.object({
  key: z.string(),
  image: z.string(),
  imageId: z.string(),
  /** The base disk (cache.ts) the overlay sits on. */
  base: z.string(),
  createdAt: z.string(),
  /** Seconds the cold boot that made it took to answer SSH. */
  bootSec: z.number(),
});
export type WarmEntry = z.infer<typeof WarmEntrySchema>;

/**
 * Everything that shapes the guest's state at the snapshot, or the devices qemu must have
 * to load it: a change to any makes another entry. The qemu binary is in it too — a
 * snapshot's device state is loaded only by the qemu that wrote it, safely.
 */
export interface WarmSpec {
  base: string;
  cpus: number;
  memoryMiB: number;
  accel: string;
  arch?: string;
  sshUser: string;
  kargs: string[];
  credentialTransport?: string;
  allowHostLoopback: boolean;
  autologin: boolean;
  /** The user's own identity, when the VM does not get a generated key. */
  identity?: string;
  /** The qemu binary: path, size and mtime. */
  qemu: string;
  /** The q35 devices the VM boots without (host/q35.ts): a saved guest loads only into its own board. */
  q35DevicesOff?: readonly string[];
}

export function warmKey(s: WarmSpec): string {
  const text = JSON.stringify([
    // The machine's version: a saved guest loads only into the same devices, so this goes
    // up when the devices bootc gives qemu change (2: the boot messages' virtio console; 3:
    // q35 without its unused devices, host/q35.ts).
    3,
    s.base,
    s.cpus,
    s.memoryMiB,
    s.accel,
    s.arch ?? "",
    s.sshUser,
    s.kargs,
    s.credentialTransport ?? "",
    s.allowHostLoopback,
    s.autologin,
    s.identity ?? "",
    s.qemu,
    s.q35DevicesOff ?? [],
  ]);
  return createHash("sha256").update(text).digest("hex").slice(0, 24);
}

/** What identifies a qemu binary well enough to trust its snapshots: path, size, mtime. */
export async function qemuIdentity(binary: string): Promise<string> {
  const s = await stat(binary);
  return `${binary}:${s.size}:${Math.floor(s.mtimeMs)}`;
}

export async function readWarmEntry(paths: EnginePaths, key: string): Promise<WarmEntry | undefined> {
  const text = await readFile(path.join(warmEntryDir(paths, key), "entry.json"), "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  const r = WarmEntrySchema.safeParse(JSON.parse(text));
  return r.success && existsSync(path.join(warmEntryDir(paths, key), "disk.qcow2")) ? r.data : undefined;
}

export async function listWarmEntries(paths: EnginePaths): Promise<Array<WarmEntry & { usageBytes: number }>> {
  const names = await readdir(warmDir(paths)).catch(() => [] as string[]);
  const out: Array<WarmEntry & { usageBytes: number }> = [];
  for (const n of names.filter((x) => /^[0-9a-f]{24}$/.test(x))) {
    const e = await readWarmEntry(paths, n);
    if (!e) continue;
    let usageBytes = 0;
    for (const f of await readdir(warmEntryDir(paths, n)).catch(() => [] as string[]))
      usageBytes += ((await stat(path.join(warmEntryDir(paths, n), f)).catch(() => undefined))?.blocks ?? 0) * 512;
    out.push({ ...e, usageBytes });
  }
  return out;
}

/** A directory to make entry `key` in; leftovers of dead makers are swept first. */
export async function warmPartialDir(paths: EnginePaths, key: string): Promise<string> {
  await ensurePrivateDir(warmDir(paths), paths);
  for (const n of await readdir(warmDir(paths))) {
    const m = /\.partial-(\d+)$/.exec(n);
    if (m && !isAlive(Number(m[1]))) await rm(path.join(warmDir(paths), n), { recursive: true, force: true });
  }
  const dir = path.join(warmDir(paths), `${key}.partial-${process.pid}`);
  await rm(dir, { recursive: true, force: true });
  await ensurePrivateDir(dir, paths);
  return dir;
}

/** Completes an entry: entry.json written, then the directory renamed into place (a racing maker's finished entry wins). */
export async function commitWarmEntry(paths: EnginePaths, partial: string, entry: WarmEntry): Promise<void> {
  await writeFile(path.join(partial, "entry.json"), JSON.stringify(entry, null, 2) + "\n", { mode: 0o600 });
  await rename(partial, warmEntryDir(paths, entry.key)).catch(async () => {
    await rm(partial, { recursive: true, force: true });
  });
}

/** Removes warm entries on these base disks (the bases are going). */
export async function removeWarmEntriesOn(paths: EnginePaths, bases: string[]): Promise<void> {
  for (const e of await listWarmEntries(paths)) if (bases.includes(e.base)) await removeWarmEntry(paths, e.key);
}

export async function removeWarmEntry(paths: EnginePaths, key: string): Promise<void> {
  const dir = warmEntryDir(paths, key);
  const doomed = `${dir}.removing-${process.pid}`;
  await rename(dir, doomed).catch(() => undefined);
  await rm(doomed, { recursive: true, force: true });
}
