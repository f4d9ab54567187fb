/**
 * Processes the engine may signal, and how it proves one is still the process it started.
 * A pid alone is not proof: after a host reboot, or once a pid is reused, the number in a
 * record names somebody else's process. So every pid the engine records comes with the
 * process's start identity — the boot id and the start time in clock ticks since boot
 * (/proc/<pid>/stat field 22) — and a signal goes only to a process whose identity still
 * matches. On hosts without /proc (macOS) the identity is the start time `ps` reports.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

/**
 * Whether `pid` is a running process. A zombie (dead, not yet reaped by its parent — a
 * monitor killed while the process that started it still runs) counts as dead: signal 0
 * still reaches it, so /proc is asked on Linux.
 */
export function isAlive(pid: number | undefined): boolean {
  if (!pid || pid < 0) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  if (process.platform !== "linux") return true;
  const stat = readStat(pid);
  return stat !== undefined && stat.state !== "Z";
}

function readStat(pid: number): { state: string; startTicks: string } | undefined {
  try {
    // "pid (comm) S ppid …": comm may hold spaces or parentheses, so split after the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
    return { state: fields[0] ?? "", startTicks: fields[19] ?? "" };
  } catch {
    return undefined;
  }
}

let bootId: string | undefined;
function currentBootId(): string {
  bootId ??= (() => {
    try {
      return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    } catch {
      return "";
    }
  })();
  return bootId;
}

/** The start identity of a live process, or undefined if it is gone. */
export function processStartId(pid: number | undefined): string | undefined {
  if (!pid || !isAlive(pid)) return undefined;
  if (process.platform === "linux") {
    const stat = readStat(pid);
    return stat ? `${currentBootId()}:${stat.startTicks}` : undefined;
  }
  try {
    // node:child_process here only: on Linux every command checks a process, and none needs it for that.
    const { execFileSync } = createRequire(import.meta.url)("node:child_process") as typeof import("node:child_process");
    return execFileSync("ps", ["-o", "lstart=", "-p", String(pid)], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/** True only while `pid` is alive and is the very process whose identity was recorded. */
export function isSameProcess(pid: number | undefined, startId: string | undefined): boolean {
  if (!pid || !startId) return false;
  return processStartId(pid) === startId;
}

/** Signals `pid` only if it is still the recorded process; returns whether it did. */
export function signalIfSame(pid: number | undefined, startId: string | undefined, signal: NodeJS.Signals): boolean {
  if (!isSameProcess(pid, startId)) return false;
  try {
    process.kill(pid!, signal);
    return true;
  } catch {
    return false;
  }
}
