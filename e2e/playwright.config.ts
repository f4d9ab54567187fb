import { defineConfig } from "@playwright/test";

// Browser tests against the real server and a real guest, in Debian's Chromium
// (browsers cannot be downloaded here). Two spec files at a time, each with its own server,
// state directory and guest (a guest runs single-threaded TCG: two fit two cores).
export default defineConfig({
  testDir: "./ui",
  workers: 2,
  timeout: 15 * 60_000,
  expect: { timeout: 30_000 },
  reporter: [["list"]],
  use: {
    viewport: { width: 1280, height: 800 },
    // A control that is not there fails the step in a minute, not at the test's end.
    actionTimeout: 60_000,
    navigationTimeout: 60_000,
    launchOptions: {
      executablePath: process.env.BOOTC_CHROMIUM ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    },
  },
});
