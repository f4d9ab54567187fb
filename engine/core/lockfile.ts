/**
 * Lock files shared by the VM command lock and the disk-cache build lock.
 *
 * A lock is created whole: the owner's pid and start identity (engine/proc.ts) are written
 * to a private temp file, which is then `link`ed to the lock's name — link fails if the
 * name exists, so of several racers exactly one wins, and nobody ever sees an empty lock.
 *
 * A lock whose owner is gone (or whose pid now names another process) is stale. Only one
 * racer may remove it: the one that first creates `<lock>.break` (the same exclusive link).
 * Holding that, it reads the lock again and removes it only if it is still the stale lock it
 * judged — nobody else removes a lock they do not own, so it cannot have changed meanwhile —
 * then competes for the free lock like anyone else (the exclusive link decides). A lock is
 * never moved aside: a lock name that is briefly empty let a third racer in (two winners,
 * seen once in a full run).
 * A `.break` left by a breaker that died is removed once its owner is proved gone.
 */
import { link, readFile, unlink, writeFile } from "node:fs/promises";
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
  if (isLive(seen)) return false;
  const breaker = `${file}.break`;
  if (!(await linkInPlace(breaker, mine))) {
    // Another racer is breaking it — or died doing so: clear a dead breaker's claim for next time.
    const claim = await readFile(breaker, "utf8").catch(() => undefined);
    if (claim !== undefined && !isLive(claim)) await unlink(breaker).catch(() => undefined);
    return false;
  }
  try {
    const again = await readFile(file, "utf8").catch(() => undefined);
    if (again === seen) await unlink(file).catch(() => undefined);
    else if (again !== undefined) return false; // not the lock we judged stale
    return await linkInPlace(file, mine);
  } finally {
    await unlink(breaker).catch(() => undefined);
  }
}

const isLive = (content: string) => {
  const owner = parseOwner(content)!;
  return isSameProcess(owner.pid, owner.startId);
};

export async function unlock(file: string): Promise<void> {
  await unlink(file).catch(() => undefined);
}
