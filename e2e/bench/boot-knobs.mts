/**
 * Boot experiments (prints figures; not a test): one plain qemu + virtiofsd boot of the
 * demo image with the knobs given as JSON (see PlainBootOptions in ../lib/plain-qemu.ts),
 * then `systemd-analyze`, the critical chain to ssh.service and the top of `blame` from
 * inside the guest, and the start of the serial output. How docs/benchmarks.md's "where
 * the boot goes" was found.
 *   npx tsx e2e/bench/boot-knobs.mts '{"cache":"always","append":["quiet"]}'
 */
import { plainQemuBoot } from "../lib/plain-qemu.js";

const knobs = JSON.parse(process.argv[2] ?? "{}");
const r = await plainQemuBoot(process.env.IMAGE ?? "localhost/bootc-demo:latest", {
  ...knobs,
  after: knobs.after ?? ["systemd-analyze; systemd-analyze critical-chain ssh.service; systemd-analyze blame | head -25"],
});
console.log(JSON.stringify(knobs), "first serial byte", r.firstSerialByteMs, "ms; ssh-ready", r.sshReadyMs, "ms");
for (const a of r.after) console.log(a);
console.log("--- serial (first 1500 characters) ---\n" + r.serial.slice(0, 1500));
