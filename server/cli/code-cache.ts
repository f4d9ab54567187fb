/**
 * Runs a CommonJS file (the CLI's bundle) through vm.Script with a V8 code cache, as
 * v8-compile-cache does: compiling the bundle was most of what a command cost beyond
 * Node's own start (docs/benchmarks.md), and Node 20 has no module.enableCompileCache.
 *
 * The cache is only ever a speed-up: a missing, unreadable or rejected one (V8 checks its
 * version, flags and the source's length) means compiling as without it, and a new one is
 * written, temp file then rename, once the command has succeeded, so it holds the
 * functions that command compiled. The caller keys the cache file by the bundle's content
 * and Node's version: V8 does not compare the source itself.
 *
 * A code cache is code: V8's own checks of it (magic, version, flags, a checksum) can be
 * forged, so whoever can write the file can run code as the user. So it is read only from
 * a directory proved private from the engine's cache root down (core/private-dir.ts), and
 * only if the file itself is this user's, a regular file (not a symlink) and writable by
 * nobody else; it is written only into such a directory, through a temp file that must
 * not exist yet.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import Module, { createRequire } from "node:module";
import path from "node:path";
import vm from "node:vm";
import type { EnginePaths } from "../../engine/core/paths.js";
import { ensurePrivateDirSync, isPrivateDirSync } from "../../engine/core/private-dir.js";

/** A command's code cache file, under the engine's cache root (`paths`), whose directories must be private. */
export interface CodeCache {
  file: string;
  paths: EnginePaths;
}

/** The first line scripts/bundle-cli.mjs writes: the hash of the rest of the bundle. */
const BUNDLE_ID = /^\/\/ bootc-bundle ([0-9a-f]{16,})\n/;

/** The bundle's content hash, from its first line (undefined for a file without one). */
export const bundleId = (source: string): string | undefined => BUNDLE_ID.exec(source)?.[1];

/**
 * Where the code cache of a command goes: one directory per bundle and Node version (so
 * an upgrade never meets an old cache) and one file per command (each holds what it ran).
 */
export function codeCacheFile(cacheRoot: string, id: string, command: string): string {
  const name = /^[a-z][a-z-]{0,19}$/.test(command) ? command : "other";
  return path.join(cacheRoot, `${id}-${process.version}-${process.arch}`, `${name}.bin`);
}

/** Reads a cache file, or nothing: a cache that cannot be read, or that anyone else could have written, is as good as none. */
function readCache(cache: CodeCache | undefined): Buffer | undefined {
  if (!cache || !isPrivateDirSync(path.dirname(cache.file), cache.paths)) return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(cache.file, constants.O_RDONLY | constants.O_NOFOLLOW);
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== process.getuid?.() || st.mode & 0o022) return undefined;
    return readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Other builds' caches unused for this long go when a cache is written (each build of a checkout makes a new one). */
const STALE_MS = 7 * 24 * 3600 * 1000;

/** Writes the script's code cache (temp file, then rename) and removes stale ones. Best effort. */
export function saveCodeCache(script: vm.Script, cache: CodeCache): void {
  try {
    const dir = path.dirname(cache.file);
    const root = path.dirname(dir);
    // Made and proved private (throws otherwise: then no cache), so what is swept or written here is ours.
    ensurePrivateDirSync(dir, cache.paths);
    for (const other of readdirSync(root)) {
      const at = path.join(root, other);
      if (at !== dir && Date.now() - statSync(at).mtimeMs > STALE_MS) rmSync(at, { recursive: true, force: true });
    }
    const temp = `${cache.file}.${process.pid}.tmp`;
    writeFileSync(temp, script.createCachedData(), { mode: 0o600, flag: "wx" });
    renameSync(temp, cache.file);
  } catch {
    // No cache this time (read-only home, full disk, a directory that is not private): the next run compiles again.
  }
}

/** Compiles `file` as Node wraps a CommonJS module, with the code cache if there is one and V8 takes it. */
export function compileWithCodeCache(file: string, source: string, cache: CodeCache | undefined): { script: vm.Script; cached: boolean } {
  const cachedData = readCache(cache);
  // No importModuleDynamically: Node 20 has it only behind a flag or as an experiment, so the
  // bundle has no import() (scripts/bundle-cli.mjs).
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  return { script, cached: Boolean(cachedData) && !script.cachedDataRejected };
}

/** Runs a compiled CommonJS module as Node would: its own exports, require, module, __filename and __dirname. */
export function runModule(script: vm.Script, file: string): void {
  const mod = new Module(file);
  mod.filename = file;
  const run = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: Module, filename: string, dirname: string) => void;
  run.call(mod.exports, mod.exports, createRequire(file), mod, file, path.dirname(file));
}

/**
 * Runs `file` (CommonJS, ASCII, read as latin1: half the cost of decoding UTF-8) with the
 * code cache `cache` if V8 takes it; otherwise a new one is saved once the command
 * has succeeded (exit code 0), so a mistyped command leaves none.
 */
export function runWithCodeCache(file: string, source: string, cache: CodeCache | undefined): { cached: boolean } {
  const { script, cached } = compileWithCodeCache(file, source, cache);
  if (cache && !cached) {
    process.once("exit", (code) => {
      if (code === 0) saveCodeCache(script, cache);
    });
  }
  runModule(script, file);
  return { cached };
}
