/**
 * Lock files shared by the VM command lock and the disk-cache build lock.
 *
 * A lock is created whole: the owner's pid and start identity (engine/proc.ts) are written
 * to a private temp file, which is then `link`ed to the lock's name — link fails if the
 * name exists, so of several racers exactly one wins, and nobody ever sees an empty lock.
 *
 * A lock whose owner is gone (or whose pid now names another process) is stale. To take
 * it over, a racer moves it aside under a name of its own and checks that what it moved
 * is the stale lock it read; only then does it link its own. If it moved a live lock that
 * another racer had just created, it links that one back and backs off.
 */
import { link, readFile, rename, unlink, writeFile } from "node:fs/promises";
import { isSameProcess, processStartId } from "./proc.js";

interface Owner {
  pid: number;
  startId?: string;
}

const ownContent = () => JSON.stringify({ pid: process.pid, startId: processStartId(process.pid) } satisfies Owner);

async function linkInPlace(file: string, content: string): Promise<boolean> {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, content, { mode: 0o600 });
  try {
    await link(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e; // e.g. ENOENT: the directory is gone
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

function parseOwner(text: string | undefined): Owner | undefined {
  if (text === undefined) return undefined;
  try {
    const o = JSON.parse(text) as Owner;
    return typeof o.pid === "number" ? o : { pid: 0 };
  } catch {
    return { pid: Number(text) || 0 }; // a lock written by an older version: a bare pid
  }
}

/** Who holds the lock (pid 0 if unreadable or gone). */
export async function lockOwner(file: string): Promise<number> {
  return parseOwner(await readFile(file, "utf8").catch(() => undefined))?.pid ?? 0;
}

/** Takes the lock if it is free or stale; false while its live owner holds it. */
export async function tryLock(file: string): Promise<boolean> {
  const mine = ownContent();
  if (await linkInPlace(file, mine)) return true;
  const seen = await readFile(file, "utf8").catch(() => undefined);
  if (seen === undefined) return linkInPlace(file, mine); // released meanwhile
  const owner = parseOwner(seen)!;
  if (isSameProcess(owner.pid, owner.startId)) return false;
  const aside = `${file}.stale.${process.pid}`;
  try {
    await rename(file, aside);
  } catch {
    return false; // another racer moved it first
  }
  const moved = await readFile(aside, "utf8").catch(() => undefined);
  if (moved !== seen) {
    // Not the stale lock we judged: a live one created meanwhile. Put it back.
    await link(aside, file).catch(() => undefined);
    await unlink(aside).catch(() => undefined);
    return false;
  }
  await unlink(aside).catch(() => undefined);
  return linkInPlace(file, mine);
}

export async function unlock(file: string): Promise<void> {
  await unlink(file).catch(() => undefined);
}
