/**
 * CLI latency benchmark (prints figures; not a test): how long `bootc list --json`,
 * `bootc inspect` and `bootc ssh` (until it execs ssh) take with 10 VMs defined, next to
 * `podman ps --format json` and a bare `node -e ""` measured in the same run. Medians of
 * RUNS (default 9) wall-clock runs each.
 *
 * The VMs are records only: one of them names this script's own process as its monitor,
 * so it reads as ssh-ready, and `ssh` is a stand-in that exits at once, so the `bootc ssh`
 * figure is the time to reach the exec.
 *   npx tsx e2e/bench/cli.ts [--runs N]
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { makeHome, removeTempDirs, tempDir } from "../lib/harness.js";

const runsAt = process.argv.indexOf("--runs");
const runs = runsAt >= 0 ? Number(process.argv[runsAt + 1]) : 9;
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
function time(file: string, args: string[]): number {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(file, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (r.status !== 0) throw new Error(`${file} ${args.join(" ")} failed: ${r.stderr}`);
  }
  return samples.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

const podman = time("podman", ["ps", "--format", "json"]);
const node = time(process.execPath, ["-e", ""]);
const rows: Array<[string, number]> = [
  ["podman ps --format json (baseline)", podman],
  ['node -e "" (Node\'s own start)', node],
  ["bootc list --json (10 VMs)", time(bootc, ["list", "--json"])],
  ["bootc inspect vm3", time(bootc, ["inspect", "vm3"])],
  ["bootc ssh vm0 -- true (to the exec)", time(bootc, ["ssh", "vm0", "--", "true"])],
];
console.log(`median of ${runs} runs each:`);
for (const [what, ms] of rows) console.log(`  ${what.padEnd(38)} ${ms.toFixed(0).padStart(5)} ms  ×${(ms / podman).toFixed(1)} podman ps`);
removeTempDirs();
