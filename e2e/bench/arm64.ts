/**
 * Emulated arm64 against native-architecture TCG (prints figures; not a test): boots the
 * x86_64 demo and the arm64 demo (localhost/bootc-demo-arm64, from
 * `bootc demo build --arch arm64`) in ephemeral mode, alternating, RUNS times each
 * (default 1: an arm64 boot takes minutes here), each timed from qemu's start to SSH ready;
 * prints each run, the medians and their ratio. On an x86_64 host without KVM both run
 * under TCG, so the ratio is the cost of emulating another instruction set on top of TCG.
 *   npx tsx e2e/bench/arm64.ts [--runs N]
 */
import { rmSync } from "node:fs";
import { DEMO_IMAGE, makeHome } from "../lib/harness.js";

const ARM64_IMAGE = "localhost/bootc-demo-arm64:latest";
const args = process.argv.slice(2);
const runsAt = args.indexOf("--runs");
const runs = runsAt >= 0 ? Number(args.splice(runsAt, 2)[1]) : 1;
const home = makeHome();
process.env.BOOTC_HOME = home;
const { Engine } = await import("../../dist/engine/index.js");
const engine = new Engine();

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function bootToSsh(image: string, name: string): Promise<{ ms: number; accel: string }> {
  const vm = await engine.createVm({ image, name, memoryMiB: 1024, readyTimeoutSec: 1200 });
  try {
    const ready = await engine.waitFor(vm.name, "ssh-ready");
    const at = (event: string) => Date.parse(ready.timeline.find((t: { event: string }) => t.event === event)?.at ?? "");
    return { ms: at("ssh-ready") - at("qemu-started"), accel: ready.accel };
  } finally {
    await engine.removeVm(vm.name, { force: true });
  }
}

const x86: number[] = [];
const arm: number[] = [];
console.log(`${DEMO_IMAGE} against ${ARM64_IMAGE}, ${runs} boot(s) each, alternating, 1 GiB, ephemeral mode`);
try {
  for (let i = 1; i <= runs; i++) {
    const a = await bootToSsh(DEMO_IMAGE, `x86-${i}`);
    x86.push(a.ms);
    const b = await bootToSsh(ARM64_IMAGE, `arm-${i}`);
    arm.push(b.ms);
    console.log(`  run ${i}: x86_64 (${a.accel}) ${s(a.ms)}, arm64 (${b.accel}, emulated) ${s(b.ms)}`);
  }
  console.log(`x86_64 demo: qemu → ssh-ready median ${s(median(x86))}`);
  console.log(`arm64 demo : qemu → ssh-ready median ${s(median(arm))}`);
  console.log(`ratio arm64 / x86_64: ${(median(arm) / median(x86)).toFixed(2)}`);
} finally {
  rmSync(home, { recursive: true, force: true });
}
