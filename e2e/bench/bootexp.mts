import { plainQemuBoot } from "../lib/plain-qemu.js";
const cfg = JSON.parse(process.argv[2] ?? "{}");
const r = await plainQemuBoot("localhost/bootc-demo:latest", { ...cfg, after: cfg.after ?? ["systemd-analyze; systemd-analyze critical-chain ssh.service; systemd-analyze blame | head -25"] });
console.log(JSON.stringify(cfg), "first byte", r.firstSerialByteMs, "ssh", r.sshReadyMs);
for (const a of r.after) console.log(a);
console.log("--- serial (first 1500 chars) ---\n" + r.serial.slice(0, 1500));
