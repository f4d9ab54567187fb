import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { enginePaths, rootfsDir } from "../core/paths.js";
import { listCache, pruneDisks, removeDisk } from "../disk/disks.js";
import { listRootEntries, sweepDeadRoots, writeRootMeta } from "./root-cache.js";

const homes: string[] = [];
afterEach(() => homes.splice(0).forEach((h) => rmSync(h, { recursive: true, force: true })));

function cacheWithRoots() {
  const home = mkdtempSync(path.join(os.tmpdir(), "bce-roots-"));
  homes.push(home);
  const paths = enginePaths({ ...process.env, BOOTC_HOME: home });
  const dir = rootfsDir(paths);
  const [a, b] = ["a".repeat(64), "b".repeat(64)];
  for (const k of [a, b]) {
    mkdirSync(path.join(dir, k, "usr"), { recursive: true });
    writeFileSync(path.join(dir, k, "usr/file"), "x".repeat(64 * 1024));
  }
  // An export in progress (this process) and one whose process is gone: never entries.
  mkdirSync(path.join(dir, `${"c".repeat(64)}.partial-${process.pid}`));
  mkdirSync(path.join(dir, `${"d".repeat(64)}.partial-999999999`));
  return { paths, dir, a, b };
}

describe("the cache of exported roots", () => {
  it("lists complete entries only, with what they are of when known", async () => {
    const { paths, a, b } = cacheWithRoots();
    await writeRootMeta(paths, a, { image: "localhost/x:1", imageId: a, podman: { connection: "m" }, createdAt: "2026-01-01T00:00:00.000Z" });
    const entries = await listRootEntries(paths);
    expect(entries.map((e) => e.key).sort()).toEqual([a, b]);
    expect(entries.find((e) => e.key === a)).toMatchObject({ image: "localhost/x:1", podman: { connection: "m" } });
    expect(entries.find((e) => e.key === b)).toMatchObject({ image: "", imageId: b });
  });

  it("shows them with the base disks, counted on the host, and prunes the unused ones with --all", async () => {
    const { paths, dir, a, b } = cacheWithRoots();
    const listed = await listCache(paths);
    expect(listed.map((d) => [d.kind, d.key]).sort()).toEqual([
      ["root", a],
      ["root", b],
    ]);
    for (const d of listed) expect(d.usageBytes).toBeGreaterThanOrEqual(64 * 1024);
    // Nothing can tell these are outdated (no podman recorded): the default prune keeps them.
    expect(await pruneDisks(paths)).toEqual([]);
    expect((await pruneDisks(paths, { all: true, dryRun: true })).length).toBe(2);
    expect(existsSync(path.join(dir, a))).toBe(true);
    await removeDisk(paths, b.slice(0, 12));
    expect(existsSync(path.join(dir, b))).toBe(false);
    const removed = await pruneDisks(paths, { all: true });
    expect(removed.map((d) => d.key)).toEqual([a]);
    // The dead exporter's partial tree went with the prune; the live one's stays.
    expect(readdirSync(dir).sort()).toEqual([`${"c".repeat(64)}.partial-${process.pid}`]);
  });

  it("sweeps the partial trees of exporters that are gone, never a live one's", async () => {
    const { paths, dir } = cacheWithRoots();
    await sweepDeadRoots(paths);
    expect(existsSync(path.join(dir, `${"d".repeat(64)}.partial-999999999`))).toBe(false);
    expect(existsSync(path.join(dir, `${"c".repeat(64)}.partial-${process.pid}`))).toBe(true);
  });
});
