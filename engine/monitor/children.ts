/**
 * Starting the monitor's children so that they cannot outlive it. On Linux each child
 * is started through `setpriv --pdeathsig SIGKILL`, so the kernel kills it when the
 * monitor dies, even by kill -9. (macOS has no parent-death signal; there the monitor's
 * exit handlers are the only guard — see docs/engine.md.)
 */
import { readFileSync } from "node:fs";
import { access } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { execa, type Options, type ResultPromise } from "execa";
import { findOnPath } from "../host/tools.js";

export function spawnOwned(file: string, args: string[], options: Options = {}): ResultPromise {
  const setpriv = process.platform === "linux" ? findOnPath("setpriv") : undefined;
  const [cmd, argv] = setpriv ? [setpriv, ["--pdeathsig", "SIGKILL", "--", file, ...args]] : [file, args];
  return execa(cmd, argv, { reject: false, buffer: false, ...options });
}

export async function waitForFile(path: string, timeoutMs: number, alive: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await access(path).then(() => true, () => false)) return true;
    if (!alive()) return false;
    await sleep(50);
  }
  return false;
}

/**
 * Whether `pid` is a running process. A zombie (dead, not yet reaped by its parent — a
 * monitor killed while the process that started it still runs) counts as dead: signal 0
 * still reaches it, so /proc is asked on Linux.
 */
export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  if (process.platform !== "linux") return true;
  try {
    // /proc/<pid>/stat: "pid (comm) S ..." — the state follows the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false; // gone between the two checks
  }
}
