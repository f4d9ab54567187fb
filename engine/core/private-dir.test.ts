import { chmodSync, chownSync, existsSync, mkdirSync, statSync, symlinkSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../../test/tmp.js";
import { fallbackRuntimeBase, libvirtRunDir, type EnginePaths } from "./paths.js";
import { ensurePrivateDir, privateChain } from "./private-dir.js";

const uid = process.getuid!();
const asRoot = uid === 0; // only root can make a directory another user owns

/** Engine roots under a fresh temp directory. */
function roots(): EnginePaths {
  const base = tempDir("bce-pd-");
  return { state: path.join(base, "state"), cache: path.join(base, "cache"), runtime: path.join(base, "run") };
}

/** The roots as they are without XDG_RUNTIME_DIR: the runtime root under the temp dir, per uid. */
function fallbackRoots(): EnginePaths {
  const tmp = tempDir("bce-pd-tmp-");
  process.env.TMPDIR = tmp;
  return { ...roots(), runtime: path.join(fallbackRuntimeBase(uid), "bootc-console") };
}
const savedTmp = process.env.TMPDIR;
afterEach(() => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
});

describe("privateChain", () => {
  it("lists every directory from the engine root down, with the /tmp fallback's per-user parent first", () => {
    const p = fallbackRoots();
    expect(privateChain(libvirtRunDir(p), p, uid)).toEqual([path.dirname(p.runtime), p.runtime, libvirtRunDir(p)]);
    expect(privateChain(path.join(p.state, "vms", "web"), p, uid)).toEqual([p.state, path.join(p.state, "vms"), path.join(p.state, "vms", "web")]);
  });

  it("knows only the engine's roots", () => {
    expect(() => privateChain("/etc/ssh", roots(), uid)).toThrow(/not under the engine's/);
  });
});

describe("ensurePrivateDir", () => {
  it("makes each directory mode 0700, and accepts them again", async () => {
    const p = fallbackRoots();
    await ensurePrivateDir(libvirtRunDir(p), p);
    await ensurePrivateDir(libvirtRunDir(p), p);
    for (const d of privateChain(libvirtRunDir(p), p)) expect(statSync(d).mode & 0o777).toBe(0o700);
  });

  it("refuses a directory others may write to, at any depth", async () => {
    const p = roots();
    mkdirSync(path.join(p.state, "vms"), { recursive: true, mode: 0o700 });
    chmodSync(path.join(p.state, "vms"), 0o777);
    await expect(ensurePrivateDir(path.join(p.state, "vms", "web"), p)).rejects.toThrow(/vms is writable by others \(mode 777\)/);
    expect(existsSync(path.join(p.state, "vms", "web"))).toBe(false);
    chmodSync(path.join(p.state, "vms"), 0o700);
    chmodSync(p.state, 0o775);
    await expect(ensurePrivateDir(path.join(p.state, "vms"), p)).rejects.toThrow(/state is writable by others \(mode 775\)/);
  });

  it("refuses a symlink planted in a directory's place", async () => {
    const p = roots();
    mkdirSync(p.runtime, { mode: 0o700 });
    const elsewhere = tempDir("bce-pd-else-");
    symlinkSync(elsewhere, libvirtRunDir(p));
    await expect(ensurePrivateDir(libvirtRunDir(p), p)).rejects.toThrow(/_libvirt is not a directory/);
  });

  it.runIf(asRoot)("refuses the libvirt directory another user made first under the /tmp fallback, at each level", async () => {
    for (const level of [0, 1, 2]) {
      const p = fallbackRoots();
      const chain = privateChain(libvirtRunDir(p), p);
      mkdirSync(chain[level]!, { recursive: true, mode: 0o700 });
      chownSync(chain[level]!, 65534, 65534);
      await expect(ensurePrivateDir(libvirtRunDir(p), p)).rejects.toThrow(new RegExp(`${chain[level]} belongs to uid 65534.*another user`));
    }
  });
});
