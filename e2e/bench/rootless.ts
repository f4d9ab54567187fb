/**
 * Rootless benchmark (prints figures; not a test). Boots the demo image with `bootc run`
 * as root (rootful podman) and as the user bootc-rootless (rootless podman; made by
 * `scripts/setup.sh --tests`), alternating, RUNS times (default 3), and prints each one's
 * median time from the command to SSH answering, from qemu's start to SSH answering (the
 * guest's own boot) and from the VM's creation to qemu's start (the host's work: mounting
 * the image, finding podman's namespace, starting virtiofsd), with their ratios. Run as root.
 *   npx tsx e2e/bench/rootless.ts [--runs N]
 */
import { chownSync, rmSync } from "node:fs";
import { execa } from "execa";
import { CLI, DEMO_IMAGE, makeHome } from "../lib/harness.js";
import { account, asUser, giveUserDemoImage } from "../lib/rootless-user.js";

const args = process.argv.slice(2);
const runsAt = args.indexOf("--runs");
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 3;

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
type Timeline = Array<{ event: string; at: string }>;

await giveUserDemoImage();
const rootHome = makeHome();
const userHome = makeHome();
chownSync(userHome, account.uid, account.gid);

/** One boot through the CLI: command → ready, and qemu → ssh-ready from the VM's timeline. */
async function boot(rootless: boolean, name: string): Promise<{ total: number; guest: number; host: number }> {
  const home = rootless ? userHome : rootHome;
  const cli = (a: string[]) =>
    rootless
      ? asUser(["env", `BOOTC_HOME=${home}`, process.execPath, CLI, ...a])
      : execa(process.execPath, [CLI, ...a], { reject: false, all: true, env: { ...process.env, BOOTC_HOME: home } });
  const t0 = Date.now();
  const r = await cli(["run", "--name", name, "--memory", "1G", DEMO_IMAGE]);
  const total = Date.now() - t0;
  if (r.exitCode !== 0) throw new Error(`${rootless ? "rootless" : "rootful"} boot failed: ${r.all}`);
  const timeline = (JSON.parse(String((await cli(["inspect", name, "--json"])).stdout)) as { timeline: Timeline }).timeline;
  const at = (event: string) => Date.parse(timeline.find((t) => t.event === event)?.at ?? "");
  await cli(["rm", "--force", name]);
  return { total, guest: at("ssh-ready") - at("qemu-started"), host: at("qemu-started") - at("created") };
}

type Boot = Awaited<ReturnType<typeof boot>>;
const rootful: Boot[] = [];
const rootless: Boot[] = [];
console.log(`image: ${DEMO_IMAGE}, ${runs} boots each, alternating`);
for (let i = 1; i <= runs; i++) {
  rootful.push(await boot(false, `rf${i}`));
  rootless.push(await boot(true, `rl${i}`));
  console.log(
    `  run ${i}: rootful ${s(rootful.at(-1)!.total)} (guest ${s(rootful.at(-1)!.guest)}), rootless ${s(rootless.at(-1)!.total)} (guest ${s(rootless.at(-1)!.guest)})`,
  );
}
const label = { total: "command → ssh-ready", guest: "qemu → ssh-ready   ", host: "created → qemu     " };
for (const key of ["total", "guest", "host"] as const) {
  const a = median(rootful.map((b) => b[key]));
  const b = median(rootless.map((x) => x[key]));
  console.log(`${label[key]}: rootful median ${s(a)}, rootless median ${s(b)}, ratio ${(b / a).toFixed(2)} (${s(b - a)} more)`);
}
rmSync(rootHome, { recursive: true, force: true });
rmSync(userHome, { recursive: true, force: true });
