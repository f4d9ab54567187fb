import { defineConfig } from "vitest/config";

// Unit tests sit next to the code they test (*.test.ts). End-to-end tests live in e2e/
// and run through scripts/test.sh with real podman, qemu, virtiofsd and Chromium.
export default defineConfig({
  test: {
    include: ["engine/**/*.test.ts", "server/**/*.test.ts", "app/**/*.test.ts", "scripts/**/*.test.ts"],
    exclude: ["node_modules", "dist", "e2e"],
    testTimeout: 30_000,
  },
});
