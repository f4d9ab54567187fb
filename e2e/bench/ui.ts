/**
 * Web console load benchmark (prints figures; not a test): time to interactive of the
 * dashboard on localhost and the JavaScript it loads first, measured in Debian's Chromium.
 *   npx tsx e2e/bench/ui.ts
 */
import { rmSync } from "node:fs";
import { chromium } from "@playwright/test";
import { openPrintedLink, serve } from "../lib/api.js";
import { makeHome } from "../lib/harness.js";

const home = makeHome();
const server = await serve(home);
const browser = await chromium.launch({
  executablePath: process.env.BOOTC_CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
});
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  await openPrintedLink(page, server); // signs in (session cookie); not measured
  const runs: Array<{ tti: number; dcl: number; jsKB: number; jsFiles: number }> = [];
  for (let i = 0; i < 5; i++) {
    const t0 = Date.now();
    await page.goto(`${server.consoleOrigin}/`, { waitUntil: "commit" });
    // Interactive: the images table (data from the API) is on screen and its Boot button works.
    await page.getByRole("heading", { name: "Images" }).waitFor();
    await page.locator("table, .pf-v6-c-empty-state").first().waitFor();
    const tti = Date.now() - t0;
    const m = await page.evaluate(() => {
      const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
      const js = (performance.getEntriesByType("resource") as PerformanceResourceTiming[]).filter(
        (r) => r.initiatorType === "script" || r.name.endsWith(".js"),
      );
      return { dcl: nav.domContentLoadedEventEnd, jsBytes: js.reduce((n, r) => n + (r.decodedBodySize || 0), 0), jsFiles: js.length };
    });
    runs.push({ tti, dcl: m.dcl, jsKB: m.jsBytes / 1024, jsFiles: m.jsFiles });
  }
  const med = (k: "tti" | "dcl") => [...runs.map((r) => r[k])].sort((a, b) => a - b)[2]!;
  console.log(`dashboard (/): time to interactive ${med("tti")} ms, DOMContentLoaded ${med("dcl").toFixed(0)} ms (median of 5)`);
  console.log(`first-load JavaScript: ${runs[0]!.jsKB.toFixed(0)} KiB uncompressed in ${runs[0]!.jsFiles} files`);
} finally {
  await browser.close();
  await server.stop();
  rmSync(home, { recursive: true, force: true });
}
