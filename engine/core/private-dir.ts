/**
 * Every directory the engine makes under its runtime, state or cache root is made here, and
 * proved private on every call: each directory from the root down to it is a real directory
 * (not a symlink), owned by this user and writable by nobody else. Without XDG_RUNTIME_DIR
 * the runtime root is under /tmp (paths.ts), where another user could make a directory
 * first, then swap what we put there — an ssh_config whose ProxyCommand runs as us, a
 * socket, a credential. Checking the whole chain each time also catches a directory whose
 * mode was opened up after it was made. A directory made new inside a checked one (a plain
 * mkdir that fails if it exists: a VM's own directory, a cache entry being built) needs no
 * check of its own: nobody else could have made it.
 */
import { lstatSync, mkdirSync, type Stats } from "node:fs";
import { lstat, mkdir } from "node:fs/promises";
import path from "node:path";
import { BootcError } from "./errors.js";
import { fallbackRuntimeBase, type EnginePaths } from "./paths.js";

const within = (root: string, dir: string) => dir === root || dir.startsWith(root + path.sep);

/** The directories to make and check for `dir`, outermost first. */
export function privateChain(dir: string, paths: EnginePaths, uid = process.getuid?.()): string[] {
  const target = path.resolve(dir);
  const root = [paths.runtime, paths.state, paths.cache].map((r) => path.resolve(r)).find((r) => within(r, target));
  if (!root) throw new Error(`${dir} is not under the engine's runtime, state or cache directory`);
  const chain = [root];
  for (const part of path.relative(root, target).split(path.sep).filter(Boolean)) chain.push(path.join(chain.at(-1)!, part));
  // The /tmp fallback's own parent (bootc-console-<uid>) is as exposed as the root itself.
  if (root === path.resolve(paths.runtime) && uid !== undefined && path.dirname(root) === fallbackRuntimeBase(uid)) chain.unshift(path.dirname(root));
  return chain;
}

/** Why a directory (lstat'ed) is not private to `uid`, or undefined when it is. */
function whyNotPrivate(st: Stats, uid: number | undefined): string | undefined {
  return !st.isDirectory()
    ? "is not a directory"
    : uid !== undefined && st.uid !== uid
      ? `belongs to uid ${st.uid}`
      : st.mode & 0o022
        ? `is writable by others (mode ${(st.mode & 0o777).toString(8)})`
        : undefined;
}

const notPrivate = (d: string, why: string) =>
  new BootcError(
    "INVALID_ARGUMENT",
    `the directory ${d} ${why}: another user may have made it or be able to change it, and bootc keeps its sockets, keys and settings there`,
    "remove it (or make it yours with mode 0700), or point XDG_RUNTIME_DIR / XDG_STATE_HOME / XDG_CACHE_HOME at private directories of yours, then try again",
  );

/** Makes `dir` (mode 0700) and every directory between it and its engine root, and proves them private. */
export async function ensurePrivateDir(dir: string, paths: EnginePaths): Promise<void> {
  const uid = process.getuid?.();
  const chain = privateChain(dir, paths, uid);
  // Above the chain is the user's own (~/.local/state) or the system's (/run, /tmp).
  await mkdir(path.dirname(chain[0]!), { recursive: true, mode: 0o700 });
  for (const d of chain) {
    await mkdir(d, { mode: 0o700 }).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "EEXIST") throw e;
    });
    const why = whyNotPrivate(await lstat(d), uid);
    if (why) throw notPrivate(d, why);
  }
}

/** ensurePrivateDir, synchronously: for the CLI's launcher, before any of the engine runs. */
export function ensurePrivateDirSync(dir: string, paths: EnginePaths): void {
  const uid = process.getuid?.();
  const chain = privateChain(dir, paths, uid);
  mkdirSync(path.dirname(chain[0]!), { recursive: true, mode: 0o700 });
  for (const d of chain) {
    try {
      mkdirSync(d, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const why = whyNotPrivate(lstatSync(d), uid);
    if (why) throw notPrivate(d, why);
  }
}

/** Whether `dir` and every directory between it and its engine root exist and are private (nothing is made). */
export function isPrivateDirSync(dir: string, paths: EnginePaths): boolean {
  const uid = process.getuid?.();
  try {
    return privateChain(dir, paths, uid).every((d) => whyNotPrivate(lstatSync(d), uid) === undefined);
  } catch {
    return false;
  }
}
