import { chmodSync, chownSync, mkdirSync, symlinkSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../test/tmp.js";
import { ensureRuntimeDir, pullSocket, serversDir, vmPaths } from "./paths.js";

const at = (runtime: string) => ({ state: "/s", cache: "/c", runtime });

describe("ensureRuntimeDir", () => {
  it("makes a private runtime directory, and accepts it again", async () => {
    const runtime = path.join(tempDir("bce-rt-"), "bootc-console");
    await ensureRuntimeDir(at(runtime));
    await ensureRuntimeDir(at(runtime));
  });

  it("refuses one that others may write to, or a symlink planted in its place", async () => {
    const open = path.join(tempDir("bce-rt-"), "bootc-console");
    mkdirSync(open);
    chmodSync(open, 0o777);
    await expect(ensureRuntimeDir(at(open))).rejects.toThrow(/is writable by others \(mode 777\).*must not go there/);
    const base = tempDir("bce-rt-");
    mkdirSync(path.join(base, "elsewhere"));
    symlinkSync(path.join(base, "elsewhere"), path.join(base, "bootc-console"));
    await expect(ensureRuntimeDir(at(path.join(base, "bootc-console")))).rejects.toThrow(/is not a directory/);
  });

  it.runIf(process.getuid?.() === 0)("refuses one that another user made first", async () => {
    const theirs = path.join(tempDir("bce-rt-"), "bootc-console");
    mkdirSync(theirs, { mode: 0o700 });
    chownSync(theirs, 65534, 65534);
    await expect(ensureRuntimeDir(at(theirs))).rejects.toThrow(/belongs to uid 65534/);
  });
});

describe("runtime paths", () => {
  it("keeps the servers' and pulls' directories apart from every VM's, whatever its name", () => {
    const paths = at("/r");
    for (const name of ["servers", "pulls"]) {
      expect([serversDir(paths), path.dirname(pullSocket(paths, "x"))]).not.toContain(vmPaths(name, paths).runDir);
    }
  });
});
