import { defineConfig } from "vitest/config";

// End-to-end tests: real podman, qemu (TCG here), virtiofsd and a real systemd guest.
// Two files at a time, each in its own process: a guest runs single-threaded TCG, so two
// boots side by side keep two cores busy. Each file checks only what its own state
// directories left behind (harness.ts); the few resources that are one per machine take
// turns through a lock (the libvirt daemon: lib/libvirt-host.ts). Generous timeouts: a
// guest takes one to two minutes to boot under TCG, more with a second one beside it.
export default defineConfig({
  test: {
    include: ["e2e/**/*.e2e.ts"],
    setupFiles: ["e2e/lib/vitest-cleanup.ts"],
    pool: "forks",
    fileParallelism: true,
    maxWorkers: 2,
    minWorkers: 1,
    testTimeout: 15 * 60_000,
    hookTimeout: 15 * 60_000,
    sequence: { concurrent: false },
  },
});
