/**
 * Soak benchmark (prints figures; not a test): for MINUTES (default 15) a `bootc serve` on
 * loopback boots the demo image through the API, follows it to ssh-ready, runs a command
 * over SSH, reads the serial console over its websocket with an SSE client on the VM list
 * attached throughout, then stops and removes the VM — again and again, with the server
 * restarted half way. It prints the server's and the monitors' open fds and RSS at the
 * start and the end, and what is left afterwards: processes of the home, image mounts,
 * files in the runtime and state directories. Ends by itself. Run as root.
 *   npx tsx e2e/bench/soak.ts [--minutes N]
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { api, client, serve, Terminal, type Served } from "../lib/api.js";
import { bootc, DEMO_IMAGE, makeHome, processesUsing } from "../lib/harness.js";

const args = process.argv.slice(2);
const at = args.indexOf("--minutes");
const minutes = at >= 0 ? Number(args[at + 1]) : 15;
const home = makeHome();

const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
const monitors = () =>
  processesUsing(home)
    .filter((p) => /runtime\/direct\/main\.js/.test(p.cmd))
    .map((p) => p.pid);
const mounts = async () =>
  String((await execa("podman", ["image", "mount"], { reject: false })).stdout)
    .split("\n")
    .filter(Boolean).length;
const listDir = (dir: string) => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};
const sample = (label: string, server: Served) => {
  const pid = server.process.pid!;
  const mons = monitors();
  const mon = mons.length ? `monitors: ${mons.length}, ${mons.map((m) => `${fds(m)} fds ${rssMiB(m).toFixed(0)} MiB`).join("; ")}` : "monitors: none";
  console.log(`${label}: server ${fds(pid)} fds, ${rssMiB(pid).toFixed(0)} MiB RSS; ${mon}`);
  return { fds: fds(pid), rss: rssMiB(pid) };
};

/** One VM's life through the API: boot, ready, SSH, serial console, stop, rm. */
async function cycle(server: Served, i: number): Promise<number> {
  const t0 = Date.now();
  const c = client(server);
  const name = `soak${i}`;
  await c.vms.run.mutate({ image: DEMO_IMAGE, name, memoryMiB: 1024 });
  await api(server).subscribe<{ type: string; state?: string; record?: { state: string } }>(
    "vms.watch",
    { name },
    (e) => e.state === "ssh-ready" || e.record?.state === "ssh-ready" || e.state === "failed",
  );
  const ssh = await bootc(home, ["ssh", name, "--", "uname -n"]);
  if (ssh.exitCode !== 0) throw new Error(`ssh failed: ${ssh.all}`);
  const serial = await Terminal.open(server, `/api/term/serial/${name}`);
  serial.send("\r");
  await serial.waitFor(/login:/, 60_000);
  serial.close();
  await c.vms.stop.mutate({ name });
  await c.vms.remove.mutate({ name });
  return Date.now() - t0;
}

let server = await serve(home);
// An SSE client on the VM list for the whole run (reconnected after the restart).
const follow = (s: Served) =>
  void api(s)
    .subscribe("vms.changes", undefined, () => false, minutes * 60_000)
    .catch(() => undefined);
follow(server);
const start = sample("start", server);
const mountsBefore = await mounts();
const deadline = Date.now() + minutes * 60_000;
let restarted = false;
let afterRestart = start;
let cycles = 0;
while (Date.now() < deadline) {
  const ms = await cycle(server, ++cycles);
  console.log(`  cycle ${cycles}: ${(ms / 1000).toFixed(0)} s`);
  if (!restarted && Date.now() > deadline - (minutes * 60_000) / 2) {
    const before = sample("before the restart", server);
    console.log(`first server process: fds ${start.fds} → ${before.fds}, RSS ${start.rss.toFixed(0)} → ${before.rss.toFixed(0)} MiB`);
    await server.stop();
    server = await serve(home);
    follow(server);
    restarted = true;
    afterRestart = sample("after the restart", server);
  }
}
const end = sample("end", server);
await server.stop();
console.log(
  `${cycles} cycles in ${minutes} min; ${restarted ? "second" : "the"} server process: fds ${afterRestart.fds} → ${end.fds}, RSS ${afterRestart.rss.toFixed(0)} → ${end.rss.toFixed(0)} MiB`,
);
console.log(
  `left: processes ${JSON.stringify(processesUsing(home))}, image mounts ${mountsBefore} → ${await mounts()}, runtime dir [${listDir(path.join(home, "run")).join(", ")}], VMs [${listDir(path.join(home, "state/vms")).join(", ")}]`,
);
