/**
 * Disk-mode benchmark (prints figures; not a test): in one run, the demo image's first
 * disk boot (base disk built, then booted) against a cached one (a second VM of the same
 * image reuses the base), each with its phases from the boot timeline.
 *   npx tsx e2e/bench/disk.ts
 */
import { rmSync } from "node:fs";
import { DEMO_IMAGE, makeHome } from "../lib/harness.js";

const home = makeHome();
process.env.BOOTC_HOME = home;
const { Engine } = await import("../../dist/engine/index.js");
const engine = new Engine();
const PHASES = ["disk-built", "disk-reused", "qemu-started", "first-serial-byte", "kernel-to-userspace", "ssh-ready"];

async function boot(name: string): Promise<void> {
  const t0 = Date.now();
  await engine.createVm({ image: DEMO_IMAGE, name, mode: "disk", builder: "direct", memoryMiB: 2048 });
  const vm = await engine.waitFor(name, "ssh-ready");
  const total = (Date.now() - t0) / 1000;
  const start = Date.parse(vm.timeline[0]!.at);
  const phases = vm.timeline
    .filter((t: { event: string }) => PHASES.includes(t.event))
    .map((t: { event: string; at: string }) => `${t.event} +${((Date.parse(t.at) - start) / 1000).toFixed(1)} s`);
  console.log(`${name}: run → ssh-ready ${total.toFixed(1)} s  (${phases.join(", ")})`);
  await engine.stopVm(name, { timeoutSec: 60 });
}

try {
  await boot("first");
  await boot("cached");
  const disk = (await engine.listDisks()).find((d) => d.kind === "disk");
  if (disk)
    console.log(
      `base disk: ${(disk.sizeBytes / 1024 ** 3).toFixed(0)} GiB virtual, ${(disk.usageBytes / 1024 ** 2).toFixed(0)} MiB on the host, used by ${disk.usedBy.join(", ")}`,
    );
} finally {
  for (const n of ["first", "cached"]) await engine.removeVm(n, { force: true }).catch(() => undefined);
  rmSync(home, { recursive: true, force: true });
}
