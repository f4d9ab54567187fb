/**
 * Warm one-shots against cold ones (prints figures; not a test): `bootc run --rm IMAGE --
 * true` booting cold (ephemeral, the default, and disk mode) against `--warm` (resuming the
 * guest saved after its first boot), alternating in one run so that load on the machine
 * falls on each alike; medians at the end. The warm start is made first and timed apart.
 *   npx tsx e2e/bench/warm.ts          (BENCH_ROUNDS=3 by default)
 */
import { rmSync } from "node:fs";
import { bootc, DEMO_IMAGE, makeHome } from "../lib/harness.js";

const home = makeHome();
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const common = ["--memory", "1G", "--builder", "direct", "--disk-size", "2G"];
const variants: Record<string, string[]> = {
  "cold (ephemeral)": ["run", "--rm", "--memory", "1G", DEMO_IMAGE, "--", "true"],
  "cold (disk)": ["run", "--rm", "--mode", "disk", ...common, DEMO_IMAGE, "--", "true"],
  warm: ["run", "--rm", "--warm", ...common, DEMO_IMAGE, "--", "true"],
};

async function timed(args: string[]): Promise<number> {
  const t0 = Date.now();
  const r = await bootc(home, args);
  if (r.exitCode !== 0) throw new Error(`bootc ${args.join(" ")} exited ${r.exitCode}: ${String(r.all).slice(-2000)}`);
  return (Date.now() - t0) / 1000;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

try {
  console.log(`first warm run (boots cold, saves the warm start, resumes it): ${(await timed(variants.warm!)).toFixed(1)} s`);
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let i = 0; i < rounds; i++)
    for (const [name, args] of Object.entries(variants)) {
      const t = await timed(args);
      times[name]!.push(t);
      console.log(`round ${i + 1}: ${name} ${t.toFixed(1)} s`);
    }
  const cold = median(times["cold (ephemeral)"]!);
  for (const [name, xs] of Object.entries(times))
    console.log(
      `${name.padEnd(17)} median ${median(xs).toFixed(1)} s  (${xs.map((x) => x.toFixed(1)).join(", ")})  ${(median(xs) / cold).toFixed(2)}× cold ephemeral`,
    );
} finally {
  await bootc(home, ["disks", "prune", "--all"]);
  rmSync(home, { recursive: true, force: true });
}
