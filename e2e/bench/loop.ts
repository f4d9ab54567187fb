/**
 * Edit → build → boot benchmark (prints figures; not a test). With a VM running an image
 * built from a directory, save a file and time until the VM answers SSH on the new image,
 * three ways, alternating within each round so all three meet the same machine load:
 *   soft  the rebuild soft-reboots the VM (same kernel, new root: runtime/direct/soft-reboot.ts)
 *   full  the same with BOOTC_SOFT_REBOOT=0: the old boot is ended (flush, kill) and the new image cold-boots
 *   cold  no VM: build the image and boot a new VM from it (bootc run after a build)
 * Prints each round and the medians.
 *   npx tsx e2e/bench/loop.ts            (BENCH_ROUNDS=3 by default)
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { DEMO_IMAGE, makeHome } from "../lib/harness.js";

const home = makeHome();
process.env.BOOTC_HOME = home;
const { Engine } = await import("../../dist/engine/index.js");
const { buildImage } = await import("../../dist/engine/images/build.js");
const src = mkdtempSync("/tmp/bce-loop-");
const TAG = "localhost/bootc-loop-bench:latest";
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
writeFileSync(path.join(src, "Containerfile"), `FROM ${DEMO_IMAGE}\nCOPY motd /etc/motd\n`);
let version = 0;
const save = () => writeFileSync(path.join(src, "motd"), `version ${++version}\n`);

const engine = new Engine();
const results: Record<"soft" | "full" | "cold", number[]> = { soft: [], full: [], cold: [] };
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function check(): Promise<void> {
  const motd = (await engine.exec("loop", "cat /etc/motd")).stdout.trim();
  if (motd !== `version ${version}`) throw new Error(`the guest says "${motd}", not version ${version}`);
}

/** Save → rebuild → reboot (soft unless BOOTC_SOFT_REBOOT=0) → SSH on the new image. */
async function rebuild(kind: "soft" | "full"): Promise<number> {
  process.env.BOOTC_SOFT_REBOOT = kind === "soft" ? "1" : "0";
  const saved = Date.now();
  save();
  const r = await engine.rebuildAndReboot("loop", undefined, (w: string) => console.log(`  warning: ${w}`));
  await engine.waitFor("loop", "ssh-ready");
  const took = Date.now() - saved;
  if (r.soft !== (kind === "soft")) throw new Error(`asked for a ${kind} reboot, got ${r.soft ? "a soft" : "a full"} one`);
  await check();
  return took;
}

/** Save → build → a new VM → SSH (the VM of the rounds before is removed first, untimed). */
async function cold(): Promise<number> {
  await engine.removeVm("loop", { force: true }).catch(() => undefined);
  const saved = Date.now();
  save();
  await buildImage({ dir: src, tag: TAG });
  await engine.createVm({ image: TAG, name: "loop", memoryMiB: 2048 });
  await engine.waitFor("loop", "ssh-ready");
  const took = Date.now() - saved;
  await check();
  return took;
}

try {
  results.cold.push(await cold()); // also the VM the first round rebuilds
  console.log(`warm-up cold boot: ${s(results.cold[0]!)}`);
  results.cold = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const soft = await rebuild("soft");
    const full = await rebuild("full");
    const c = await cold();
    results.soft.push(soft);
    results.full.push(full);
    results.cold.push(c);
    console.log(`round ${round}: save → SSH on the new image: soft reboot ${s(soft)}, full reboot ${s(full)}, cold build-and-boot ${s(c)}`);
  }
  const [ms, mf, mc] = [median(results.soft), median(results.full), median(results.cold)];
  console.log(`medians of ${ROUNDS}: soft ${s(ms)}, full ${s(mf)}, cold ${s(mc)}; soft/cold ${(ms / mc).toFixed(2)}, soft/full ${(ms / mf).toFixed(2)}`);
  const load = (await execa("cat", ["/proc/loadavg"])).stdout.split(" ").slice(0, 3).join(" ");
  console.log(`load average at the end: ${load}`);
} finally {
  await engine.removeVm("loop", { force: true }).catch(() => undefined);
  await execa("podman", ["rmi", "-f", TAG], { reject: false });
  rmSync(src, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
}
