import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { bundleId, codeCacheFile, compileWithCodeCache, saveCodeCache } from "./code-cache.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "bce-code-cache-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/** The engine's paths with the cache root at dir/cache: cache files go under it. */
const paths = { state: path.join(dir, "state"), cache: path.join(dir, "cache"), runtime: path.join(dir, "run") };
const under = (...parts: string[]) => path.join(paths.cache, ...parts);

/** A CommonJS file in the bundle's shape (the id line first) that prints what it sees of its module. */
function bundle(name: string, exitCode = 0): string {
  const file = path.join(dir, name);
  writeFileSync(
    file,
    `// bootc-bundle ${"ab".repeat(16)}\n"use strict";\n` +
      `console.log(JSON.stringify({ sum: [1, 2, 3].reduce((a, b) => a + b), sep: require("node:path").sep, dir: __dirname, file: __filename, own: module.exports === exports }));\n` +
      `process.exitCode = ${exitCode};\n`,
  );
  return file;
}

/** Runs the file through runWithCodeCache in a new Node process (in this one, V8 would reuse its own compile). */
function launch(file: string, cacheFile: string) {
  const code = `import { readFileSync } from "node:fs"; import { runWithCodeCache } from ${JSON.stringify(path.resolve("server/cli/code-cache.ts"))};
    const r = runWithCodeCache(${JSON.stringify(file)}, readFileSync(${JSON.stringify(file)}, "latin1"), { file: ${JSON.stringify(cacheFile)}, paths: ${JSON.stringify(paths)} });
    console.log(JSON.stringify(r));`;
  const p = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { encoding: "utf8" });
  expect(p.stderr).toBe("");
  const [ran, result] = p.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: p.status, ran, cached: result!.cached };
}

describe("the CLI's code cache", () => {
  it("reads the bundle's id from its first line, and none from a file without it", () => {
    expect(bundleId(`// bootc-bundle ${"ab".repeat(16)}\n"use strict";`)).toBe("ab".repeat(16));
    expect(bundleId('"use strict";\n')).toBeUndefined();
  });

  it("keeps one file per command under a directory per bundle and Node version; anything else is 'other'", () => {
    expect(codeCacheFile("/c", "ab12", "list")).toBe(`/c/ab12-${process.version}-${process.arch}/list.bin`);
    expect(path.basename(codeCacheFile("/c", "ab12", "--help"))).toBe("other.bin");
    expect(path.basename(codeCacheFile("/c", "ab12", "../x"))).toBe("other.bin");
  });

  it("runs without a cache and saves one on success; the next run uses it, with the same result", () => {
    const file = bundle("ok.cjs");
    const cacheFile = codeCacheFile(under("cli-code"), "ab12", "list");
    const first = launch(file, cacheFile);
    expect(first).toEqual({ status: 0, ran: { sum: 6, sep: "/", dir, file, own: true }, cached: false });
    expect(readdirSync(path.dirname(cacheFile))).toEqual(["list.bin"]); // no temp file left
    const second = launch(file, cacheFile);
    expect(second).toEqual({ ...first, cached: true });
  });

  it("runs as without it when the cache is damaged (V8 rejects it), then replaces it", () => {
    const file = bundle("damaged.cjs");
    const cacheFile = under("damaged", "list.bin");
    mkdirSync(path.dirname(cacheFile), { recursive: true, mode: 0o700 });
    writeFileSync(cacheFile, Buffer.alloc(4096, 7));
    expect(launch(file, cacheFile)).toMatchObject({ status: 0, ran: { sum: 6 }, cached: false });
    expect(launch(file, cacheFile)).toMatchObject({ status: 0, ran: { sum: 6 }, cached: true });
  });

  it("saves no cache for a command that failed", () => {
    const file = bundle("fails.cjs", 2);
    const cacheFile = under("fails", "x.bin");
    expect(launch(file, cacheFile)).toMatchObject({ status: 2, cached: false });
    expect(existsSync(path.dirname(cacheFile))).toBe(false);
  });

  it("removes other builds' caches unused for a week when it saves one, and keeps recent ones", () => {
    const root = under("stale");
    for (const d of ["old-build", "recent-build"]) mkdirSync(path.join(root, d), { recursive: true, mode: 0o700 });
    const weekAgo = new Date(Date.now() - 8 * 24 * 3600 * 1000);
    utimesSync(path.join(root, "old-build"), weekAgo, weekAgo);
    saveCodeCache(compileWithCodeCache(bundle("stale.cjs"), "1;", undefined).script, { file: path.join(root, "new-build", "list.bin"), paths });
    expect(readdirSync(root).sort()).toEqual(["new-build", "recent-build"]);
  });

  it("neither reads nor writes a cache in a directory others can write to: a planted cache is code", () => {
    const file = bundle("shared.cjs");
    const cacheFile = under("shared", "list.bin");
    mkdirSync(path.dirname(cacheFile), { recursive: true });
    chmodSync(path.dirname(cacheFile), 0o777);
    expect(launch(file, cacheFile)).toMatchObject({ status: 0, ran: { sum: 6 }, cached: false });
    expect(readdirSync(path.dirname(cacheFile))).toEqual([]);
    // Made private, a cache is saved and used again.
    chmodSync(path.dirname(cacheFile), 0o700);
    launch(file, cacheFile);
    expect(launch(file, cacheFile)).toMatchObject({ cached: true });
  });

  it("does not follow a symlink in place of the cache file", () => {
    const file = bundle("linked.cjs");
    const real = under("real", "list.bin");
    mkdirSync(path.dirname(real), { recursive: true, mode: 0o700 });
    launch(file, real); // a valid cache for this bundle
    const cacheFile = under("linked", "list.bin");
    mkdirSync(path.dirname(cacheFile), { recursive: true, mode: 0o700 });
    symlinkSync(real, cacheFile);
    expect(launch(file, cacheFile)).toMatchObject({ status: 0, ran: { sum: 6 }, cached: false });
  });
});
