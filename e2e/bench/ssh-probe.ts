/**
 * The wait for SSH after a boot (prints figures; not a test). Each round boots the demo with
 * two CLIs at the same time, one guest per core: OTHER's (`--before OTHER/bin/bootc`, e.g. a
 * worktree of an earlier commit, built) and this checkout's. For each boot it prints qemu's
 * start → ssh-ready (the VM's timeline) and, from the guest's own journal, sshd listening →
 * the first SSH login (the readiness probe's), which is the time the wait itself adds, and
 * the CPU its passt used in the 5 s after ssh-ready (a passt left spinning by a probe shows
 * here: ~4 s; an idle one: 0.0 s).
 *   npx tsx e2e/bench/ssh-probe.ts --before OTHER/bin/bootc [--rounds N] [IMAGE]   (after npm run build:cli)
 */
import { execFile } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import path from "node:path";
import { DEMO_IMAGE, makeHome } from "../lib/harness.js";

const run = promisify(execFile);
const args = process.argv.slice(2);
const take = (flag: string) => {
  const at = args.indexOf(flag);
  return at >= 0 ? args.splice(at, 2)[1] : undefined;
};
const before = take("--before");
const rounds = Number(take("--rounds") ?? 3);
const image = args[0] ?? DEMO_IMAGE;
if (!before) throw new Error("usage: ssh-probe.ts --before OTHER/bin/bootc [--rounds N] [IMAGE]");
const clis = { before: path.resolve(before), after: path.resolve("bin/bootc") };
const home = makeHome();

/** Seconds on the guest's monotonic clock of the first journal line matching `re`. */
const at = (journal: string, re: RegExp) => {
  const line = journal.split("\n").find((l) => re.test(l));
  return line ? Number(/^\[\s*([\d.]+)\]/.exec(line)?.[1]) : NaN;
};

const TICK = 100; // USER_HZ on Linux
/** The pid of the passt forwarding 127.0.0.1:PORT, from /proc. */
const passtOf = (port: number) =>
  readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(`127.0.0.1/${port}:22`);
      } catch {
        return false;
      }
    });
const cpuSec = (pid: string) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) / TICK; // utime, stime
};

interface Boot {
  readySec: number;
  waitSec: number;
  passtSec: number;
}

async function boot(which: keyof typeof clis, round: number): Promise<Boot> {
  const name = `${which}${round}`;
  const env = { ...process.env, BOOTC_HOME: path.join(home, which) };
  const cli = (...a: string[]) => run(clis[which], a, { env, maxBuffer: 64 << 20 });
  await cli("run", "--name", name, image);
  try {
    const { stdout } = await cli("inspect", name, "--json");
    const vm = JSON.parse(stdout) as { sshPort: number; timeline: Array<{ event: string; at: string }> };
    const t = Object.fromEntries(vm.timeline.map((e) => [e.event, Date.parse(e.at)]));
    const passt = passtOf(vm.sshPort);
    const cpu0 = passt ? cpuSec(passt) : NaN;
    await sleep(5000);
    const passtSec = passt ? cpuSec(passt) - cpu0 : NaN;
    const journal = (await cli("ssh", name, "--", "journalctl", "-b", "-o", "short-monotonic", "--no-pager", "-t", "sshd", "-t", "sshd-session")).stdout;
    return { readySec: (t["ssh-ready"]! - t["qemu-started"]!) / 1000, waitSec: at(journal, /Accepted publickey/) - at(journal, /Server listening/), passtSec };
  } finally {
    await cli("rm", "-f", name);
  }
}

const results: Record<keyof typeof clis, Boot[]> = { before: [], after: [] };
const f = (x: number) => `${x.toFixed(1)} s`;
console.log(`image ${image}; before: ${clis.before}; after: ${clis.after}; ${rounds} rounds, both at once in each`);
for (let i = 1; i <= rounds; i++) {
  const [b, a] = await Promise.all([boot("before", i), boot("after", i)]);
  results.before.push(b);
  results.after.push(a);
  console.log(
    `round ${i}  before: ssh-ready ${f(b.readySec)}, sshd listening → first login ${f(b.waitSec)}, passt ${f(b.passtSec)}   after: ${f(a.readySec)}, ${f(a.waitSec)}, ${f(a.passtSec)}`,
  );
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
for (const k of ["before", "after"] as const) {
  console.log(
    `${k}: median qemu → ssh-ready ${f(median(results[k].map((r) => r.readySec)))}, sshd listening → first login ${f(median(results[k].map((r) => r.waitSec)))}, passt in the 5 s after ${f(Math.max(...results[k].map((r) => r.passtSec)))} at most`,
  );
}
