import { randomBytes } from "node:crypto";
import type { VmInfo } from "../../engine/core/vm.js";
import { Engine } from "../../engine/vm/manager.js";
import { BootcError, isBootcError } from "../../engine/core/errors.js";
import type { BootReport } from "../../engine/insight/report.js";
import { parseCommand, printJson } from "./output.js";
import { renderBootReport } from "./boot-chart.js";
import { podmanFromFlags } from "./podman-flags.js";
import { formatOptions, runFlagOptions, runFlagRows, runOptionsFromFlags, type FlagValues, type RunOptionKey } from "./run-flags.js";

/** The run options a smoke test takes; --timeout also bounds systemd's start. */
const TEST_OPTIONS: RunOptionKey[] = ["pull", "podman", "kargs", "memoryMiB", "cpus", "readyTimeoutSec", "warm"];

const HELP = `Usage: bootc test [options] IMAGE

A smoke test for CI: boots IMAGE in a throwaway VM, waits for systemd to finish starting
(systemctl is-system-running --wait), and reports. When the system is degraded it prints
each failed unit with its last journal lines. It prints the boot timeline and where the
boot's time went (phases, slowest units, critical chain; --json: "boot"), removes the VM,
and exits 0 only when the system is running (1 otherwise: degraded, or the boot failed).
An image in another podman (--connection NAME, -r, or CONTAINER_HOST) is booted from
there as bootc run boots it (its root exported into the local cache), never copied into
the local podman.

Options (as for bootc run; --timeout also bounds systemd's start):
${formatOptions([...runFlagRows(TEST_OPTIONS), ["--json", "a machine-readable report: state, failed units with journal lines, timings"]])}`;

interface FailedUnit {
  unit: string;
  journal: string[];
}

export interface TestReport {
  image: string;
  /** systemd's answer (running, degraded, …), or "boot-failed". */
  state: string;
  passed: boolean;
  reason?: string;
  failedUnits: FailedUnit[];
  /** Seconds from the VM's creation to each boot event. */
  timeline: Array<{ event: string; atSec: number }>;
  /** `systemd-analyze` inside the guest: kernel, initrd and userspace times. */
  systemdAnalyze?: string;
  /** Where the boot's time went: phases, units, critical chain (as `bootc inspect NAME --boot --json`). */
  boot?: BootReport;
}

const timelineOf = (vm: VmInfo) => {
  const t0 = Date.parse(vm.timeline[0]?.at ?? "");
  return vm.timeline.map((t) => ({ event: t.event, atSec: Math.round((Date.parse(t.at) - t0) / 100) / 10 }));
};

async function inspectGuest(engine: Engine, name: string, timeoutSec: number): Promise<Pick<TestReport, "state" | "failedUnits" | "systemdAnalyze">> {
  const sh = async (command: string) => (await engine.exec(name, command, (timeoutSec + 30) * 1000)).stdout.trim();
  const state = (await sh(`timeout ${timeoutSec} systemctl is-system-running --wait`)) || "unknown";
  const failedUnits: FailedUnit[] = [];
  if (state !== "running") {
    const units = (await sh("systemctl --failed --no-legend --plain --no-pager"))
      .split("\n")
      .map((l) => l.trim().split(/\s+/)[0]!)
      .filter(Boolean);
    for (const unit of units) {
      // Unit names come from systemd; quoted all the same.
      const journal = await sh(`journalctl -b --no-pager -o short-monotonic -n 15 -u '${unit.replaceAll("'", "")}'`);
      failedUnits.push({ unit, journal: journal.split("\n").filter(Boolean) });
    }
  }
  const systemdAnalyze = await sh("systemd-analyze 2>/dev/null | head -n 1").catch(() => undefined);
  return { state, failedUnits, ...(systemdAnalyze ? { systemdAnalyze } : {}) };
}

function printReport(r: TestReport): void {
  for (const f of r.failedUnits) {
    console.log(`failed: ${f.unit}`);
    for (const line of f.journal) console.log(`    ${line}`);
  }
  console.log(`timeline: ${r.timeline.map((t) => `${t.event} +${t.atSec}s`).join(", ")}`);
  if (r.systemdAnalyze) console.log(r.systemdAnalyze);
  if (r.boot) console.log(`\n${renderBootReport(r.boot, { colour: !!process.stdout.isTTY && !process.env.NO_COLOR })}\n`);
  console.log(r.passed ? `PASS ${r.image}: the system is running` : `FAIL ${r.image}: ${r.reason ?? r.state}`);
}

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(
    {
      args: argv,
      allowPositionals: true,
      options: { ...runFlagOptions(TEST_OPTIONS), json: { type: "boolean" } },
    },
    HELP,
  );
  const [image, ...extra] = positionals;
  if (!image || extra.length)
    throw new BootcError("INVALID_ARGUMENT", image ? `unexpected arguments: ${extra.join(" ")}` : "no image given", "usage: bootc test [options] IMAGE");
  const engine = new Engine();
  const say = (s: string) => values.json || console.error(s);
  const { podman: given, ...opts } = runOptionsFromFlags(values, TEST_OPTIONS);
  // The podman that has the image: --connection, -r, else CONTAINER_HOST, as podman decides it.
  const podman = podmanFromFlags(given, (values as FlagValues).remote === true);
  const vm = await engine.createVm(
    {
      image,
      name: `test-${randomBytes(3).toString("hex")}`,
      removeOnStop: true,
      ...opts,
      ...(podman ? { podman } : {}),
    },
    { pull: { onLine: (l) => (l.startsWith("pulling ") ? say(l) : undefined) } },
  );
  say(`testing ${image} in ${vm.name} (${vm.accel.toUpperCase()})`);
  let report: TestReport;
  try {
    const ready = await engine.waitFor(vm.name, "ssh-ready");
    if (ready.effectiveState !== "ssh-ready")
      throw new BootcError("SSH_FAILED", "the image has no sshd: bootc test needs SSH to ask systemd", "add openssh-server to the image");
    const guest = await inspectGuest(engine, vm.name, vm.readyTimeoutSec);
    // systemd has finished (or given up) by now: the guest answers at once.
    const boot = await engine.bootReport(vm.name, { waitSec: 5 }).catch(() => undefined);
    report = { image, ...guest, passed: guest.state === "running", timeline: timelineOf(await engine.getVm(vm.name)), ...(boot ? { boot } : {}) };
  } catch (e) {
    const last = await engine.getVm(vm.name).catch(() => undefined);
    const reason = isBootcError(e) ? e.message : e instanceof Error ? e.message : String(e);
    report = { image, state: "boot-failed", passed: false, reason, failedUnits: [], timeline: last ? timelineOf(last) : [] };
  } finally {
    // --rm: the VM goes as it stops.
    await engine.stopVm(vm.name, { force: true }).catch(() => undefined);
  }
  if (values.json) printJson(report);
  else printReport(report);
  return report.passed ? 0 : 1;
}
