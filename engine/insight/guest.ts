/**
 * Asking a guest over SSH where its boot went: once systemd says the boot is over (it can
 * outlast SSH readiness by a while), `systemd-analyze time`, `blame` and `critical-chain`
 * in one round trip, since each SSH connection costs seconds under emulation.
 */
import { sshExec, type SshTarget } from "../ssh/exec.js";
import type { BootReport } from "./report.js";
import { parseAnalyzeTime, parseBlame, parseCriticalChain, type GuestTimes } from "./systemd-analyze.js";

export type GuestFindings = Pick<BootReport, "units" | "criticalChain" | "unitsFrom" | "note"> & { guest?: GuestTimes; finished: boolean };

const SECTION = "@@bootc-insight@@";

/**
 * The guest's script: the sections are split on a marker no output of systemd-analyze has.
 * `waitSec` 0 asks at once. Until the boot has finished, `systemd-analyze time` fails and
 * blame and the critical chain are not read (each run costs the guest a second or more).
 */
export function analyzeScript(waitSec: number): string {
  const section = (name: string, cmd: string) => `echo '${SECTION} ${name}'; ${cmd} 2>&1`;
  return [
    ...(waitSec > 0 ? [`timeout ${Math.max(1, Math.round(waitSec))} systemctl is-system-running --wait >/dev/null 2>&1`] : []),
    `if ${section("time", "systemd-analyze time --no-pager")}; then ${section("blame", "systemd-analyze blame --no-pager")}; ${section("chain", "systemd-analyze critical-chain --no-pager")}; fi`,
    "true",
  ].join("; ");
}

/** Splits the script's output into its sections and reads each. */
export function readAnalyzeOutput(stdout: string): GuestFindings {
  const sections = new Map<string, string>();
  for (const part of stdout.split(`${SECTION} `).slice(1)) {
    const nl = part.indexOf("\n");
    sections.set(part.slice(0, nl < 0 ? undefined : nl).trim(), nl < 0 ? "" : part.slice(nl + 1));
  }
  const time = sections.get("time") ?? "";
  const guest = parseAnalyzeTime(time);
  if (!guest) {
    const why = /not yet finished/i.test(time)
      ? "the guest's boot had not finished (systemd was still starting units)"
      : /not found/i.test(time)
        ? "the guest has no systemd-analyze"
        : `systemd-analyze gave no boot times (${time.trim().split("\n")[0] || "no output"})`;
    return { units: [], criticalChain: [], unitsFrom: "none", note: why, finished: false };
  }
  return {
    guest,
    units: parseBlame(sections.get("blame") ?? ""),
    criticalChain: parseCriticalChain(sections.get("chain") ?? ""),
    unitsFrom: "systemd-analyze",
    finished: true,
  };
}

/** Asks the guest; waits at most `waitSec` for its boot to finish. */
export async function askGuest(target: SshTarget, waitSec: number, signal?: AbortSignal): Promise<GuestFindings> {
  const r = await sshExec(target, analyzeScript(waitSec), { timeoutMs: (waitSec + 60) * 1000, ...(signal ? { signal } : {}) });
  return readAnalyzeOutput(r.stdout);
}
