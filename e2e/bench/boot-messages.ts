/**
 * Boot messages and their cost under TCG (issue #27; prints figures, not a test). Three
 * plain qemu + virtiofsd boots of the demo image per round, alternating so that all three
 * meet the same load, each measured from qemu's start to SSH in wall time and in the CPU
 * time qemu used (single-threaded TCG: the emulated work itself, which the host's load
 * sways far less than the wall time):
 *   quiet on the UART  — the engine's choice until now: console=ttyS0 quiet loglevel=3
 *   full on the UART   — the kernel's and systemd's messages through the emulated 16550
 *   full on virtio     — the same messages on a virtio console (hvc0), the login on ttyS0
 * It also prints how many bytes of messages each showed, so "cheap" is not "silent".
 *   npx tsx e2e/bench/boot-messages.ts [ROUNDS]
 */
import { plainQemuBoot, type PlainBootOptions } from "../lib/plain-qemu.js";

const rounds = Number(process.argv[2] ?? 3);
const image = process.env.IMAGE ?? "localhost/bootc-demo:latest";
// What every emulated boot gets from the engine besides the console (engine/host/machine.ts).
const common = ["systemd.default_device_timeout_sec=600", "8250.nr_uarts=1"];
const configs: Array<[string, PlainBootOptions]> = [
  ["quiet on the UART", { append: [...common, "quiet", "loglevel=3"] }],
  ["full on the UART", { append: common }],
  ["full on virtio", { append: common, console: "hvc0" }],
];
const times = new Map<string, number[]>(configs.map(([name]) => [name, []]));
const cpu = new Map<string, number[]>(configs.map(([name]) => [name, []]));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

for (let round = 1; round <= rounds; round++) {
  for (const [name, opts] of configs) {
    const r = await plainQemuBoot(image, { cache: "always", ...opts });
    if (r.sshReadyMs === undefined) {
      console.log(`round ${round}: ${name}: no SSH (serial tail: ${r.serial.slice(-300)})`);
      continue;
    }
    times.get(name)!.push(r.sshReadyMs / 1000);
    if (r.qemuCpuMs !== undefined) cpu.get(name)!.push(r.qemuCpuMs / 1000);
    const lines = (t: string) => t.split("\n").filter((l) => l.trim()).length;
    console.log(
      `round ${round}: ${name}: qemu → SSH ${(r.sshReadyMs / 1000).toFixed(1)} s, qemu CPU ${((r.qemuCpuMs ?? NaN) / 1000).toFixed(1)} s; messages shown: UART ${r.serial.length} bytes (${lines(r.serial)} lines), virtio ${r.virtioConsole.length} bytes (${lines(r.virtioConsole)} lines)`,
    );
  }
}
const base = median(times.get("quiet on the UART")!);
const baseCpu = median(cpu.get("quiet on the UART")!);
for (const [name] of configs) {
  const m = median(times.get(name)!);
  const c = median(cpu.get(name)!);
  console.log(
    `median of ${times.get(name)!.length}: ${name}: wall ${m.toFixed(1)} s (${(m / base).toFixed(2)} × quiet on the UART), qemu CPU ${c.toFixed(1)} s (${(c / baseCpu).toFixed(2)} ×)`,
  );
}
