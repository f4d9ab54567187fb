/**
 * CLI start-up benchmark (prints figures; not a test): what `bootc list --json`,
 * `bootc inspect` and `bootc ssh` (until it execs ssh) cost with 10 VMs defined — the
 * bundled CLI as bin/bootc runs it (dist/bundle/) and tsc's unbundled output
 * (dist/server/cli.js) — next to `podman ps --format json` and a bare `node -e ""`, all in
 * the same run. Each command runs RUNS times (default 15), the commands taking turns so a
 * busy spell of the machine falls on all of them; medians of the wall-clock time and of
 * the CPU time (user + sys, the process and its children, from bash's `times`).
 *
 * The VMs are records only: one of them names this script's own process as its monitor,
 * so it reads as ssh-ready, and `ssh` is a stand-in that exits at once, so the `bootc ssh`
 * figure is the time to reach the exec.
 *   npx tsx e2e/bench/cli.ts [--runs N] [--before OTHER/bin/bootc]     (after npm run build:cli)
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { makeHome, removeTempDirs, tempDir } from "../lib/harness.js";

const runsAt = process.argv.indexOf("--runs");
const runs = runsAt >= 0 ? Number(process.argv[runsAt + 1]) : 15;
const home = makeHome();
process.env.BOOTC_HOME = home;
const { enginePaths } = await import("../../dist/engine/core/paths.js");
const { writeRecord } = await import("../../dist/engine/core/record.js");
const { processStartId } = await import("../../dist/engine/core/proc.js");

const paths = enginePaths();
for (let i = 0; i < 10; i++) {
  const name = `vm${i}`;
  mkdirSync(path.join(home, "state/vms", name), { recursive: true });
  const live = i === 0;
  await writeRecord(
    {
      version: 1,
      name,
      image: "localhost/bootc-demo:latest",
      imageId: "0".repeat(64),
      mode: "ephemeral",
      createdAt: new Date().toISOString(),
      cpus: 2,
      memoryMiB: 2048,
      accel: "tcg",
      accelReason: "bench",
      sshUser: "root",
      sshPort: 2222,
      identity: path.join(home, "key"),
      generatedKey: true,
      forwards: [],
      binds: [],
      kargs: [],
      removeOnStop: false,
      readyTimeoutSec: 600,
      warnings: [],
      timeline: [{ event: "created", at: new Date().toISOString() }],
      ...(live
        ? { state: "ssh-ready", monitorPid: process.pid, monitorStartId: processStartId(process.pid), startedAt: new Date().toISOString() }
        : { state: "stopped", reason: "stopped by the user" }),
    },
    paths,
  );
}
const fakeBin = tempDir("bce-bench-bin-");
writeFileSync(path.join(fakeBin, "ssh"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
const env = { ...process.env, PATH: `${fakeBin}:${process.env.PATH}` };

const bootc = path.resolve("bin/bootc");
const unbundled = path.resolve("dist/server/cli.js");
const node = process.execPath;
// bash runs the command and prints its wall time and its children's CPU time (`times`, 2nd line).
const MEASURE = 's=$EPOCHREALTIME; "$@" >/dev/null; rc=$?; e=$EPOCHREALTIME; echo "$s $e"; times; exit $rc';
const seconds = (t: string) => {
  const [, min, sec] = /^(\d+)m([\d.]+)s$/.exec(t)!;
  return Number(min) * 60 + Number(sec);
};

interface Row {
  what: string;
  argv: string[];
  wall: number[];
  cpu: number[];
}
const row = (what: string, ...argv: string[]): Row => ({ what, argv, wall: [], cpu: [] });
// --before FILE adds another build's CLI entry (e.g. another checkout's bin/bootc, or its dist/server/cli.js) to each command.
const beforeAt = process.argv.indexOf("--before");
const before = beforeAt >= 0 ? path.resolve(process.argv[beforeAt + 1]!) : undefined;
const commands: Array<[string, string[]]> = [
  ["bootc list --json (10 VMs)", ["list", "--json"]],
  ["bootc inspect vm3", ["inspect", "vm3"]],
  ["bootc ssh vm0 -- true (to the exec)", ["ssh", "vm0", "--", "true"]],
];
const rows = [
  row("podman ps --format json", "podman", "ps", "--format", "json"),
  row('node -e ""', node, "-e", ""),
  ...commands.flatMap(([what, args]) => [
    row(what, bootc, ...args),
    row("  unbundled", node, unbundled, ...args),
    ...(before ? [row("  --before", node, before, ...args)] : []),
  ]),
];

for (let i = 0; i < runs; i++) {
  for (const r of rows) {
    const p = spawnSync("bash", ["-c", MEASURE, "bash", ...r.argv], { env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    if (p.status !== 0) throw new Error(`${r.argv.join(" ")} failed: ${p.stderr}`);
    const [span, , children] = p.stdout.trim().split("\n");
    const [start, end] = span!.split(" ").map(Number);
    const [user, sys] = children!.split(" ").map(seconds);
    r.wall.push((end! - start!) * 1000);
    r.cpu.push((user! + sys!) * 1000);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const nodeCpu = median(rows[1]!.cpu);
console.log(`medians of ${runs} runs each (CPU: user + sys); node ${process.version}, load average ${readFileSync("/proc/loadavg", "utf8").split(" ")[0]}:`);
console.log(`  ${"".padEnd(38)} ${"wall".padStart(8)} ${"CPU".padStart(8)}   CPU ÷ node -e ""`);
for (const r of rows) {
  const cpu = median(r.cpu);
  console.log(`  ${r.what.padEnd(38)} ${median(r.wall).toFixed(0).padStart(5)} ms ${cpu.toFixed(0).padStart(5)} ms   ×${(cpu / nodeCpu).toFixed(2)}`);
}
removeTempDirs();
