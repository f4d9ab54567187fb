/**
 * Lock files shared by the VM command lock and the disk-cache build lock: created with
 * O_EXCL and holding the owner's pid. A lock whose owner is dead is stale and is taken over.
 */
import { open, readFile, unlink } from "node:fs/promises";
import { isAlive } from "./monitor/children.js";

async function createExclusive(file: string): Promise<boolean> {
  try {
    const fh = await open(file, "wx");
    await fh.writeFile(String(process.pid));
    await fh.close();
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e; // e.g. ENOENT: the directory is gone
  }
}

/** The pid written in a lock file (0 if unreadable). */
export async function lockOwner(file: string): Promise<number> {
  return Number(await readFile(file, "utf8").catch(() => "0"));
}

/** Takes the lock if it is free or stale; false while a live process holds it. */
export async function tryLock(file: string): Promise<boolean> {
  if (await createExclusive(file)) return true;
  if (isAlive(await lockOwner(file))) return false;
  // Its owner died: take it over (of several racers, one wins).
  await unlink(file).catch(() => undefined);
  return createExclusive(file);
}

export async function unlock(file: string): Promise<void> {
  await unlink(file).catch(() => undefined);
}
