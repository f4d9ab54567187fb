/**
 * Screenshots of the web console, light and dark, taken by the browser tests as they pass
 * each page. They go to test-results/screenshots; with BOOTC_UPDATE_SCREENSHOTS=1 into the
 * tracked docs/screenshots instead, so a test run changes no tracked file unless asked.
 */
import path from "node:path";
import type { Page } from "@playwright/test";
import { ROOT } from "./harness.js";

export const SCREENSHOTS_DIR = path.join(ROOT, process.env.BOOTC_UPDATE_SCREENSHOTS === "1" ? "docs/screenshots" : "test-results/screenshots");

export async function shoot(page: Page, name: string): Promise<void> {
  for (const theme of ["light", "dark"]) {
    await page.evaluate((t) => {
      document.documentElement.classList.toggle("pf-v6-theme-dark", t === "dark");
    }, theme);
    await page.screenshot({ path: path.join(SCREENSHOTS_DIR, `${name}-${theme}.png`) });
  }
  await page.evaluate(() => document.documentElement.classList.remove("pf-v6-theme-dark"));
}
