import { readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../test/tmp.js";
import { diskKey, ensureEntry, listEntries, removeEntry, type DiskEntry } from "./cache.js";

const spec = { imageId: "sha256:aaa", builder: "direct" as const, sizeBytes: 1024 ** 3, filesystem: "ext4" };
const home = () => {
  const root = tempDir("bce-cache-");
  return { state: path.join(root, "state"), cache: path.join(root, "cache"), runtime: path.join(root, "run") };
};
const entry = (key: string): DiskEntry => ({
  key,
  image: "img",
  imageId: spec.imageId,
  builder: "direct",
  builderVersion: 1,
  sizeBytes: spec.sizeBytes,
  filesystem: "ext4",
  createdAt: new Date().toISOString(),
  sshd: true,
});

describe("the base-disk cache", () => {
  it("keys on image digest, builder, size and filesystem", () => {
    expect(diskKey(spec)).toBe(diskKey({ ...spec }));
    expect(diskKey({ ...spec, imageId: "sha256:bbb" })).not.toBe(diskKey(spec));
    expect(diskKey({ ...spec, sizeBytes: 2 * 1024 ** 3 })).not.toBe(diskKey(spec));
    expect(diskKey({ ...spec, builder: "install" })).not.toBe(diskKey(spec));
  });

  it("builds once and then reuses the entry", async () => {
    const paths = home();
    let builds = 0;
    const build = async (dir: string, key: string) => {
      builds++;
      writeFileSync(path.join(dir, "disk.raw"), "x");
      return entry(key);
    };
    expect((await ensureEntry(paths, spec, build)).reused).toBe(false);
    expect((await ensureEntry(paths, spec, build)).reused).toBe(true);
    expect(builds).toBe(1);
    expect((await listEntries(paths)).map((e) => e.key)).toEqual([diskKey(spec)]);
  });

  it("two concurrent requests build once: the second waits and reuses", async () => {
    const paths = home();
    let builds = 0;
    const build = async (dir: string, key: string) => {
      builds++;
      await new Promise((r) => setTimeout(r, 300));
      return entry(key);
    };
    const results = await Promise.all([ensureEntry(paths, spec, build), ensureEntry(paths, spec, build)]);
    expect(builds).toBe(1);
    expect(results.map((r) => r.reused).sort()).toEqual([false, true]);
  });

  it("a failed build leaves no entry and no temp directory, and the next one builds", async () => {
    const paths = home();
    await expect(
      ensureEntry(paths, spec, async (dir) => {
        writeFileSync(path.join(dir, "disk.raw"), "half");
        throw new Error("disk full");
      }),
    ).rejects.toThrow("disk full");
    expect(readdirSync(path.join(paths.cache, "disks"))).toEqual([]);
    expect((await ensureEntry(paths, spec, async (_d, key) => entry(key))).reused).toBe(false);
  });

  it("refuses to remove an entry a VM uses", async () => {
    const paths = home();
    await ensureEntry(paths, spec, async (_d, key) => entry(key));
    await expect(removeEntry(paths, diskKey(spec), ["web"])).rejects.toThrow(/is used by web/);
    await removeEntry(paths, diskKey(spec), []);
    expect(await listEntries(paths)).toEqual([]);
  });
});
