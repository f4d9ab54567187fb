import path from "node:path";
import { configDefaults, defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * The slowest files, slowest first (the README's per-file minutes), so that the two workers
 * end about together instead of one running a long file alone at the end. Files not named
 * here follow, in vitest's own order.
 */
const SLOWEST_FIRST = [
  "libvirt.e2e.ts",
  "remote-podman.e2e.ts",
  "oneshot.e2e.ts",
  "provision.e2e.ts",
  "fresh-root.e2e.ts",
  "snapshot.e2e.ts",
  "watch.e2e.ts",
  "arm64.e2e.ts",
  "rootless.e2e.ts",
  "faults.e2e.ts",
  "disk.e2e.ts",
  "to-disk.e2e.ts",
  "engine.e2e.ts",
  "uki.e2e.ts",
  "esp-credentials.e2e.ts",
  "server.e2e.ts",
  "pull.e2e.ts",
  "baseline.e2e.ts",
];

/**
 * The e2e files the third lane runs once the browser specs are done (scripts/test.sh): short
 * ones, from the end of the order above, about as many minutes as the two e2e lanes would
 * otherwise spend with only two files on two cores. Without that third lane, the cores were
 * 10-16 % idle from the end of the browser specs on (vmstat, docs/benchmarks.md); with it,
 * 0-4 %, and the two main lanes ran on 3 minutes after it (to-disk.e2e.ts, the last of
 * theirs, has moved here since).
 */
const THIRD_LANE = [
  "to-disk.e2e.ts",
  "engine.e2e.ts",
  "uki.e2e.ts",
  "esp-credentials.e2e.ts",
  "server.e2e.ts",
  "pull.e2e.ts",
  "baseline.e2e.ts",
  "package.e2e.ts",
  "abuse.e2e.ts",
  "completion.e2e.ts",
  "doctor.e2e.ts",
  "backend.e2e.ts",
  "ledger.e2e.ts",
];
/** BOOTC_E2E_LANE: "third" runs only THIRD_LANE, "main" all the others; unset, every file. */
const LANE = process.env.BOOTC_E2E_LANE;
if (LANE !== undefined && LANE !== "main" && LANE !== "third") throw new Error(`BOOTC_E2E_LANE="${LANE}" is not main or third`);
const thirdLaneFiles = THIRD_LANE.map((f) => `e2e/${f}`);

class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => {
      const i = SLOWEST_FIRST.indexOf(path.basename(f.moduleId));
      return i < 0 ? SLOWEST_FIRST.length : i;
    };
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

/**
 * How many files run side by side: BOOTC_E2E_WORKERS, 2 unless set. Two fit two cores (a
 * guest gets one TCG thread when the cores are busy: decideTcgThreads) and the harness keeps files apart (README, "Tests");
 * BOOTC_E2E_WORKERS=1 runs one file at a time.
 */
const WORKERS = Math.max(1, Number(process.env.BOOTC_E2E_WORKERS ?? 2) || 2);

// End-to-end tests: real podman, qemu (TCG here), virtiofsd and a real systemd guest.
// Up to WORKERS files at a time, each in its own process: a guest runs single-threaded TCG, so two
// boots side by side keep two cores busy. Each file checks only what its own state
// directories left behind (harness.ts); the few resources that are one per machine take
// turns through a lock (the libvirt daemon: lib/libvirt-host.ts). Generous timeouts: a
// guest takes one to two minutes to boot under TCG, more with a second one beside it.
export default defineConfig({
  test: {
    include: LANE === "third" ? thirdLaneFiles : ["e2e/**/*.e2e.ts"],
    exclude: LANE === "main" ? [...configDefaults.exclude, ...thirdLaneFiles] : configDefaults.exclude,
    setupFiles: ["e2e/lib/vitest-cleanup.ts"],
    pool: "forks",
    fileParallelism: WORKERS > 1,
    maxWorkers: WORKERS,
    minWorkers: 1,
    testTimeout: 15 * 60_000,
    hookTimeout: 15 * 60_000,
    sequence: { concurrent: false, sequencer: SlowestFirst },
  },
});
