import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../test/tmp.js";
import { lockOwner, tryLock, unlock } from "./lockfile.js";

const LOCKFILE = fileURLToPath(new URL("./lockfile.ts", import.meta.url));

/**
 * Starts `n` processes that all try to take `file` at the same moment; returns how many won.
 * A winner holds the lock until every racer has tried (each leaves a mark), however slowly
 * a loaded machine starts them: a lock released earlier would rightly be won again.
 */
async function race(file: string, n: number): Promise<number> {
  const marks = tempDir("bce-lock-marks-");
  const at = Date.now() + 1500;
  const script = `
    const { tryLock } = await import(${JSON.stringify(LOCKFILE)});
    const { readdirSync, writeFileSync } = await import("node:fs");
    while (Date.now() < ${at}) {}
    const won = await tryLock(${JSON.stringify(file)});
    writeFileSync(${JSON.stringify(marks)} + "/" + process.pid, "");
    while (won && readdirSync(${JSON.stringify(marks)}).length < ${n}) await new Promise((r) => setTimeout(r, 50));
    console.log(won ? "won" : "lost");`;
  const runs = Array.from({ length: n }, () => execa(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script]));
  const out = await Promise.all(runs);
  return out.filter((r) => r.stdout.trim() === "won").length;
}

describe("lock files", () => {
  it("is taken by one process, refused to others while it lives, and free after unlock", async () => {
    const file = path.join(tempDir("bce-lock-"), "lock");
    expect(await tryLock(file)).toBe(true);
    expect(await lockOwner(file)).toBe(process.pid);
    expect(JSON.parse(readFileSync(file, "utf8")).startId).toMatch(/.+/);
    // A live owner keeps it, even from another process.
    const other = await execa(process.execPath, [
      "--import",
      "tsx",
      "--input-type=module",
      "-e",
      `const { tryLock } = await import(${JSON.stringify(LOCKFILE)}); console.log(await tryLock(${JSON.stringify(file)}))`,
    ]);
    expect(other.stdout.trim()).toBe("false");
    await unlock(file);
    expect(await tryLock(file)).toBe(true);
  });

  it("treats a lock whose pid now names another process as stale (a reboot, a reused pid)", async () => {
    const file = path.join(tempDir("bce-lock-"), "lock");
    // pid 1 is alive, but it is not the process that wrote these locks: one from before a
    // reboot (a bare pid, nothing to prove it by) and one whose start identity differs.
    for (const stale of ["1", JSON.stringify({ pid: 1, startId: "another-boot:12345" })]) {
      writeFileSync(file, stale);
      expect(await tryLock(file), stale).toBe(true);
      expect(await lockOwner(file)).toBe(process.pid);
      await unlock(file);
    }
  });

  it("has exactly one winner when many processes race for a free lock or a stale one", async () => {
    const dir = tempDir("bce-lock-");
    expect(await race(path.join(dir, "free"), 8)).toBe(1);
    const stale = path.join(dir, "stale");
    writeFileSync(stale, JSON.stringify({ pid: 999_999_999, startId: "gone" }));
    expect(await race(stale, 8)).toBe(1);
  }, 60_000);
});
