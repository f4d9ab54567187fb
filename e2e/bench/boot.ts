/**
 * Boot benchmark (prints figures; not a test). Boots the demo image, alternating, RUNS
 * times (default 5):
 *   before    — plain qemu + virtiofsd with the engine's previous choices: virtiofs
 *               cache=auto for the image root and a verbose serial console;
 *   bootc run — the engine as it is (createVm through ssh-ready).
 * Both are timed from qemu's start to the first SSH command that succeeds, and printed as
 * medians with their ratio; then the phases of the engine's median boot.
 *   npx tsx e2e/bench/boot.ts [--runs N] [IMAGE]
 */
import { rmSync } from "node:fs";
import { plainQemuBoot } from "../lib/plain-qemu.js";
import { DEMO_IMAGE, makeHome } from "../lib/harness.js";

const args = process.argv.slice(2);
const runsAt = args.indexOf("--runs");
const runs = runsAt >= 0 ? Number(args.splice(runsAt, 2)[1]) : 5;
const image = args[0] ?? DEMO_IMAGE;
const home = makeHome();
process.env.BOOTC_HOME = home;
const { Engine } = await import("../../dist/engine/index.js");
const engine = new Engine();

const s = (ms?: number) => (ms === undefined ? "n/a" : `${(ms / 1000).toFixed(1)} s`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
type Timeline = Array<{ event: string; at: string }>;

const before: number[] = [];
const bootc: Array<{ sshReady: number; total: number; timeline: Timeline }> = [];
console.log(`image: ${image}, ${runs} boots each, alternating`);
for (let i = 1; i <= runs; i++) {
  const plain = await plainQemuBoot(image, { cache: "auto" });
  if (plain.sshReadyMs === undefined) throw new Error(`the plain qemu boot ${i} never answered SSH`);
  before.push(plain.sshReadyMs);

  const t0 = Date.now();
  const vm = await engine.createVm({ image, name: `bench${i}`, memoryMiB: 2048 });
  const ready = await engine.waitFor(vm.name, "ssh-ready");
  const total = Date.now() - t0;
  const at = (event: string) => Date.parse(ready.timeline.find((t: { event: string }) => t.event === event)?.at ?? "");
  bootc.push({ sshReady: at("ssh-ready") - at("qemu-started"), total, timeline: ready.timeline });
  await engine.removeVm(vm.name, { force: true });
  console.log(`  run ${i}: before ${s(plain.sshReadyMs)}, bootc run ${s(bootc.at(-1)!.sshReady)} (command → ssh-ready ${s(total)})`);
}

const mBefore = median(before);
const mBootc = median(bootc.map((b) => b.sshReady));
const typical = bootc.find((b) => b.sshReady === mBootc)!;
const t0 = Date.parse(typical.timeline[0]!.at);
console.log(`before (plain qemu, previous choices): qemu → ssh-ready median ${s(mBefore)} (${before.map((x) => s(x)).join(", ")})`);
console.log(`bootc run                            : qemu → ssh-ready median ${s(mBootc)} (${bootc.map((b) => s(b.sshReady)).join(", ")})`);
console.log(`ratio bootc run / before: ${(mBootc / mBefore).toFixed(2)}`);
console.log(`median boot's phases: ${typical.timeline.map((t) => `${t.event} +${s(Date.parse(t.at) - t0)}`).join(", ")}`);
rmSync(home, { recursive: true, force: true });
