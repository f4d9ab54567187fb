import { chmodSync, chownSync, lstatSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { tempDir } from "../../test/tmp.js";
import { writePrivateFile } from "./private-file.js";

// The temp name is random; a test that must know it in advance fixes the random bytes.
let fixedRandom: Buffer | undefined;
vi.mock("node:crypto", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:crypto")>();
  return { ...real, randomBytes: (n: number) => fixedRandom ?? real.randomBytes(n) };
});
afterEach(() => (fixedRandom = undefined));

const uid = process.getuid!();
const other = uid === 0 ? 65534 : undefined; // only root can make a file another user owns

describe("writePrivateFile", () => {
  it("writes a file of ours, mode 0600, and leaves no temp file", async () => {
    const dir = tempDir("bce-pf-");
    const file = path.join(dir, "token");
    await writePrivateFile(file, "secret\n");
    await writePrivateFile(file, "second\n");
    expect(readFileSync(file, "utf8")).toBe("second\n");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(file).uid).toBe(uid);
    expect(readdirSync(dir)).toEqual(["token"]);
  });

  it("does not fill a file another user made first at the temp name the old code used (<file>.<pid>.tmp)", async () => {
    const dir = tempDir("bce-pf-");
    chmodSync(dir, 0o1777); // a shared directory, like /tmp
    const file = path.join(dir, "token");
    const planted = `${file}.${process.pid}.tmp`;
    writeFileSync(planted, "");
    chmodSync(planted, 0o666);
    if (other) chownSync(planted, other, other);
    await writePrivateFile(file, "secret\n");
    expect(statSync(file).uid).toBe(uid);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(planted, "utf8")).toBe("");
  });

  it("does not write through a symlink planted at the old temp name", async () => {
    const dir = tempDir("bce-pf-");
    const victim = path.join(dir, "victim");
    writeFileSync(victim, "precious\n");
    const file = path.join(dir, "token");
    symlinkSync(victim, `${file}.${process.pid}.tmp`);
    await writePrivateFile(file, "secret\n");
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
    expect(lstatSync(file).isFile()).toBe(true);
  });

  it("refuses a temp name that is already taken, by a file or a symlink, and leaves it as it was", async () => {
    fixedRandom = Buffer.from("0123456789abcdef", "hex");
    const dir = tempDir("bce-pf-");
    const file = path.join(dir, "token");
    const tmp = `${file}.0123456789abcdef.tmp`;

    writeFileSync(tmp, "theirs");
    chmodSync(tmp, 0o666);
    await expect(writePrivateFile(file, "secret\n")).rejects.toThrow(/EEXIST/);
    expect(readFileSync(tmp, "utf8")).toBe("theirs");

    const victim = path.join(dir, "victim");
    writeFileSync(victim, "precious\n");
    rmSync(tmp);
    symlinkSync(victim, tmp);
    await expect(writePrivateFile(file, "secret\n")).rejects.toThrow(/EEXIST/);
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
    expect(lstatSync(tmp).isSymbolicLink()).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(["token.0123456789abcdef.tmp", "victim"]);
  });
});
