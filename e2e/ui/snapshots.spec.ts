/**
 * The Snapshots tab of a disk VM's page: take a snapshot of the running guest (a job, with
 * memory), restore it after a confirmation (the guest runs on from it), delete it after
 * another. One disk guest, booted from the CLI; the mechanism itself is covered by
 * e2e/snapshot.e2e.ts.
 */
import { expect, test } from "@playwright/test";
import { bootc, DEMO_IMAGE, makeHome, removeTempDirs } from "../lib/harness.js";
import { serve, type Served, openPrintedLink } from "../lib/api.js";

const home = makeHome();
let server: Served;

test.beforeAll(async () => {
  const run = await bootc(home, ["run", "--mode", "disk", "--builder", "direct", "--disk-size", "2G", "--memory", "1G", "--name", "snapui", DEMO_IMAGE]);
  expect(run.exitCode, String(run.all)).toBe(0);
  server = await serve(home);
});

test.afterAll(async () => {
  await bootc(home, ["rm", "--force", "snapui"]);
  await server.stop();
  removeTempDirs();
});

test("take, restore and delete a snapshot from the VM's page", async ({ page }) => {
  test.setTimeout(600_000);
  await openPrintedLink(page, server);
  await page.goto(`${new URL(page.url()).origin}/vms/snapui`);
  await page.getByRole("tab", { name: "Snapshots" }).click();
  const panel = page.getByRole("region", { name: "Snapshots" });
  await expect(panel.getByText("No snapshots")).toBeVisible();

  await panel.getByLabel("Snapshot tag").fill("ui.1");
  await panel.getByRole("button", { name: "Take snapshot" }).click();
  await expect(panel.getByText("Snapshot snapui: ui.1: done")).toBeVisible({ timeout: 300_000 });
  const row = panel.getByRole("row").filter({ hasText: "ui.1" });
  await expect(row).toContainText("yes");

  await row.getByRole("button", { name: "Restore ui.1" }).click();
  const confirm = page.getByRole("dialog", { name: "Restore snapui to ui.1?" });
  await expect(confirm).toContainText("memory and disk");
  await confirm.getByRole("button", { name: "Restore" }).click();
  await expect(panel.getByText("Restore snapui: ui.1: done")).toBeVisible({ timeout: 300_000 });

  await row.getByRole("button", { name: "Delete ui.1" }).click();
  await page.getByRole("dialog", { name: "Delete snapshot ui.1?" }).getByRole("button", { name: "Delete" }).click();
  await expect(panel.getByText("No snapshots")).toBeVisible();
  expect(JSON.parse(String((await bootc(home, ["snapshot", "list", "snapui", "--json"])).stdout))).toEqual([]);
});
