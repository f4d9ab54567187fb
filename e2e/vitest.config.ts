import { defineConfig } from "vitest/config";

// End-to-end tests: real podman, qemu (TCG here), virtiofsd and a real systemd guest.
// One file at a time (they share the host's podman and CPU), with generous timeouts:
// a guest takes one to two minutes to boot under TCG.
export default defineConfig({
  test: {
    include: ["e2e/**/*.e2e.ts"],
    setupFiles: ["e2e/lib/vitest-cleanup.ts"],
    fileParallelism: false,
    testTimeout: 15 * 60_000,
    hookTimeout: 15 * 60_000,
    sequence: { concurrent: false },
  },
});
