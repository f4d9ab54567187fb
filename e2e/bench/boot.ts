/**
 * Boot benchmark (prints figures; not a test): the demo image booted by plain qemu (the
 * baseline) and by `bootc run` through the engine, in one run, with the ratio.
 *   npx tsx e2e/bench/boot.ts [IMAGE]
 */
import { rmSync } from "node:fs";
import { plainQemuBoot } from "../lib/plain-qemu.js";
import { DEMO_IMAGE, makeHome } from "../lib/harness.js";

const image = process.argv[2] ?? DEMO_IMAGE;
const home = makeHome();
process.env.BOOTC_HOME = home;
const { Engine } = await import("../../dist/engine/index.js");

const s = (ms?: number) => (ms === undefined ? "n/a" : `${(ms / 1000).toFixed(1)} s`);

console.log(`image: ${image}`);
const plain = await plainQemuBoot(image);
console.log(`plain qemu : first serial byte ${s(plain.firstSerialByteMs)}, ssh-ready ${s(plain.sshReadyMs)}`);

const engine = new Engine();
const t0 = Date.now();
const vm = await engine.createVm({ image, name: "bench", memoryMiB: 2048 });
const ready = await engine.waitFor(vm.name, "ssh-ready");
const total = Date.now() - t0;
const at = (event: string) => {
  const e = ready.timeline.find((t: { event: string }) => t.event === event);
  return e ? Date.parse(e.at) - Date.parse(ready.timeline[0]!.at) : undefined;
};
const qemuStart = at("qemu-started") ?? 0;
const firstByte = (at("first-serial-byte") ?? 0) - qemuStart;
const sshReady = (at("ssh-ready") ?? 0) - qemuStart;
console.log(`bootc run  : first serial byte ${s(firstByte)}, ssh-ready ${s(sshReady)} (after qemu start); command to ssh-ready ${s(total)}, of which before qemu ${s(qemuStart)}`);
if (plain.sshReadyMs) {
  console.log(`ratio (bootc run command → ssh-ready) / (plain qemu → ssh-ready): ${(total / plain.sshReadyMs).toFixed(3)}`);
}
console.log(`phases: ${ready.timeline.map((t: { event: string }) => `${t.event} +${s(at(t.event))}`).join(", ")}`);
await engine.removeVm(vm.name, { force: true });
rmSync(home, { recursive: true, force: true });
