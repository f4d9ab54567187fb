/**
 * Multi-threaded TCG against single-threaded (prints figures; not a test). Boots the demo
 * image with plain qemu + virtiofsd (../lib/plain-qemu.ts) in each configuration in turn,
 * ROUNDS times, and prints per boot: SSH-ready time, qemu's CPU time, and whether the
 * kernel panicked or oopsed (read from the serial console). How docs/benchmarks.md's
 * "multi-threaded TCG" figures were found.
 *   ROUNDS=10 npx tsx e2e/bench/mttcg.ts [CONFIG ...]     (default: all configurations)
 */
import { loadavg } from "node:os";
import { plainQemuBoot, type PlainBootOptions } from "../lib/plain-qemu.js";

const configs: Record<string, PlainBootOptions> = {
  single: { accel: "tcg,thread=single", smp: 2 },
  multi: { accel: "tcg,thread=multi", smp: 2 },
  // One vCPU: what a boot costs without a second vCPU to bring up and keep in step.
  "single+smp=1": { accel: "tcg,thread=single", smp: 1 },
  // TCG does not execute speculatively: the kernel's Spectre mitigations (retpolines, RSB
  // filling) defend against nothing there and cost emulated instructions.
  "single+mitigations=off": { accel: "tcg,thread=single", smp: 2, append: ["mitigations=off"] },
  "single+mitigations=off+init_on_alloc=0": { accel: "tcg,thread=single", smp: 2, append: ["mitigations=off", "init_on_alloc=0"] },
  "multi+tsc=unstable": { accel: "tcg,thread=multi", smp: 2, append: ["tsc=unstable"] },
  "multi+tsc=reliable": { accel: "tcg,thread=multi", smp: 2, append: ["tsc=reliable"] },
};
const chosen = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(configs);
for (const c of chosen) if (!configs[c]) throw new Error(`unknown configuration ${c}; one of ${Object.keys(configs).join(", ")}`);
const rounds = Number(process.env.ROUNDS ?? 5);
const image = process.env.IMAGE ?? "localhost/bootc-demo:latest";
const FAULT = /Kernel panic|Oops|BUG: |general protection fault|invalid opcode/;

type Row = { ready?: number; cpu?: number; fault?: string };
const rows = new Map<string, Row[]>(chosen.map((c) => [c, []]));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

for (let round = 1; round <= rounds; round++) {
  for (const c of chosen) {
    const r = await plainQemuBoot(image, { timeoutMs: 240_000, ...configs[c]! });
    const fault = r.serial.split("\n").find((l) => FAULT.test(l));
    // Why a panic would come: the TSC judged unstable while vCPUs run, so the kernel
    // patches the sched_clock static key under a running vCPU.
    const unstable = r.serial.split("\n").find((l) => /unstable/i.test(l));
    rows.get(c)!.push({ ready: r.sshReadyMs, cpu: r.qemuCpuMs, fault });
    const load = loadavg()[0]!.toFixed(1);
    console.log(
      `round ${round} ${c.padEnd(20)} ssh-ready ${r.sshReadyMs ?? "never"} ms, qemu CPU ${r.qemuCpuMs ?? "?"} ms, load ${load}${unstable ? `, ${unstable.trim()}` : ""}${fault ? `, FAULT: ${fault.trim()}` : ""}`,
    );
  }
}
console.log("\nconfiguration          boots  faults  median ssh-ready  median qemu CPU");
for (const c of chosen) {
  const all = rows.get(c)!;
  const ok = all.filter((r) => r.ready !== undefined);
  console.log(
    `${c.padEnd(22)} ${String(all.length).padStart(5)}  ${String(all.filter((r) => r.fault || r.ready === undefined).length).padStart(6)}  ${(median(ok.map((r) => r.ready!)) / 1000).toFixed(1).padStart(14)} s  ${(median(ok.map((r) => r.cpu ?? NaN)) / 1000).toFixed(1).padStart(13)} s`,
  );
}
