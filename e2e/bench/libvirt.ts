/**
 * libvirt runtime benchmark (prints figures; not a test). With libvirtd, virtlogd and an
 * SSH server on loopback started here (e2e/lib/libvirt-host.ts), it boots the demo image
 * in disk mode RUNS times (default 3) each way, alternating — bootc's own runtime, libvirt
 * on this host (qemu:///system), libvirt over qemu+ssh — and prints each one's median time
 * from `bootc run` to SSH answering, with the base disk already cached (and uploaded) so
 * the figures compare runtimes, not disk builds. Also: the first libvirt boot (which
 * uploads the base disk), `bootc ssh -- true` each way, and `bootc list` with and without
 * libvirt hosts. Run as root.
 *   npx tsx e2e/bench/libvirt.ts [--runs N]
 */
import { execa } from "execa";
import { CLI, DEMO_IMAGE, makeHome } from "../lib/harness.js";
import { startLibvirt, startSshServer } from "../lib/libvirt-host.js";

const args = process.argv.slice(2);
const runsAt = args.indexOf("--runs");
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 3;
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const home = makeHome();
const cli = (a: string[], env: Record<string, string> = {}) =>
  execa(process.execPath, [CLI, ...a], { reject: false, all: true, env: { ...process.env, BOOTC_HOME: home, ...env } });
async function timed(a: string[], env: Record<string, string> = {}): Promise<number> {
  const t0 = Date.now();
  const r = await cli(a, env);
  if (r.exitCode !== 0) throw new Error(`bootc ${a.join(" ")} failed: ${r.all}`);
  return Date.now() - t0;
}

const host = await startLibvirt();
const sshd = await startSshServer();
try {
  await timed(["hosts", "add", "here", "qemu:///system", "--pool", host.pool]);
  await timed(["hosts", "add", "far", sshd.uri, "--pool", host.pool]);

  // Warm-up: the base disk built once, and uploaded once (that upload is measured).
  await timed(["run", "--mode", "disk", "--builder", "direct", "--name", "warm", DEMO_IMAGE]);
  await timed(["rm", "--force", "warm"]);
  const firstLibvirt = await timed(["run", "--connect", "here", "--name", "warm", DEMO_IMAGE]);
  await timed(["rm", "--force", "warm"]);
  console.log(`first libvirt boot (uploads the base disk into the pool): run → ssh-ready ${s(firstLibvirt)}`);

  const ways = { own: ["--mode", "disk", "--builder", "direct"], local: ["--connect", "here"], remote: ["--connect", "far"] } as const;
  const times: Record<keyof typeof ways, number[]> = { own: [], local: [], remote: [] };
  const ssh: Record<keyof typeof ways, number[]> = { own: [], local: [], remote: [] };
  console.log(`image: ${DEMO_IMAGE}, ${runs} boots each way, alternating`);
  for (let i = 1; i <= runs; i++) {
    for (const way of Object.keys(ways) as Array<keyof typeof ways>) {
      const name = `b${way}${i}`;
      times[way].push(await timed(["run", ...ways[way], "--name", name, DEMO_IMAGE]));
      ssh[way].push(await timed(["ssh", name, "--", "true"]));
      await timed(["rm", "--force", name]);
    }
    console.log(`  run ${i}: own ${s(times.own.at(-1)!)}, libvirt here ${s(times.local.at(-1)!)}, libvirt over ssh ${s(times.remote.at(-1)!)}`);
  }
  for (const way of Object.keys(ways) as Array<keyof typeof ways>) {
    console.log(`${way.padEnd(6)}: run → ssh-ready median ${s(median(times[way]))}; bootc ssh -- true median ${s(median(ssh[way]))}`);
  }
  const list = async (env: Record<string, string>) => {
    const xs: number[] = [];
    for (let i = 0; i < 5; i++) xs.push(await timed(["list"], env));
    return median(xs);
  };
  const withHosts = await list({});
  await timed(["hosts", "rm", "here"]);
  await timed(["hosts", "rm", "far"]);
  console.log(`bootc list: no libvirt host ${s(await list({}))}, two hosts (one over ssh) ${s(withHosts)}`);
} finally {
  await sshd.stop();
  await host.stop();
}
