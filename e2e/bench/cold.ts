/**
 * Cold boot of the demo image through the engine (prints figures; not a test), alternating
 * the engine's own choice of TCG threads (decideTcgThreads: a thread per vCPU on idle
 * cores) with one thread for all (BOOTC_TCG_THREADS=single, the engine before
 * 2026-12-04). Timed from qemu's start to SSH; the choice each boot got is read from its
 * qemu command line. Meant for an otherwise idle host: on a busy one the engine picks one
 * thread by itself and the two columns measure the same thing.
 *   npx tsx e2e/bench/cold.ts [--runs N] [IMAGE]
 */
import { rmSync } from "node:fs";
import { loadavg } from "node:os";
import { DEMO_IMAGE, makeHome } from "../lib/harness.js";

const args = process.argv.slice(2);
const runsAt = args.indexOf("--runs");
const runs = runsAt >= 0 ? Number(args.splice(runsAt, 2)[1]) : 3;
const image = args[0] ?? DEMO_IMAGE;
const home = makeHome();
process.env.BOOTC_HOME = home;
const { Engine } = await import("../../dist/engine/index.js");
const engine = new Engine();

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const results: Record<"engine's choice" | "single", number[]> = { "engine's choice": [], single: [] };

console.log(`image: ${image}, ${runs} boots each, alternating; host load ${loadavg()[0]!.toFixed(1)}`);
for (let i = 1; i <= runs; i++) {
  for (const config of ["engine's choice", "single"] as const) {
    if (config === "single") process.env.BOOTC_TCG_THREADS = "single";
    else delete process.env.BOOTC_TCG_THREADS;
    const vm = await engine.createVm({ image, name: `cold${i}${config === "single" ? "s" : "e"}`, memoryMiB: 2048 });
    const ready = await engine.waitFor(vm.name, "ssh-ready");
    const at = (event: string) => Date.parse(ready.timeline.find((t: { event: string }) => t.event === event)?.at ?? "");
    const ms = at("ssh-ready") - at("qemu-started");
    const qemuArgs: string[] = (await engine.getVm(vm.name)).qemuArgs ?? [];
    results[config].push(ms);
    await engine.removeVm(vm.name, { force: true });
    console.log(`  run ${i} ${config.padEnd(16)} qemu → ssh-ready ${s(ms)} (-accel ${qemuArgs[qemuArgs.indexOf("-accel") + 1]})`);
  }
}
for (const [config, xs] of Object.entries(results)) console.log(`${config.padEnd(16)}: median ${s(median(xs))} (${xs.map(s).join(", ")})`);
console.log(`ratio engine's choice / single: ${(median(results["engine's choice"]) / median(results.single)).toFixed(2)}`);
rmSync(home, { recursive: true, force: true });
