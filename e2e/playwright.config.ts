import { defineConfig } from "@playwright/test";

// Browser tests against the real server and a real guest, in Debian's Chromium
// (browsers cannot be downloaded here). BOOTC_UI_WORKERS spec files at a time (else
// BOOTC_E2E_WORKERS, else 2; scripts/test.sh runs them one at a time beside the e2e files),
// each with its own server, state directory and guest.
export default defineConfig({
  testDir: "./ui",
  workers: Math.max(1, Number(process.env.BOOTC_UI_WORKERS ?? process.env.BOOTC_E2E_WORKERS ?? 2) || 2),
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
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
});
