/**
 * Disk mode in the web console: boot the demo image with "Persistent disk", watch the base
 * disk get built in the boot timeline, and find it on the Disks page, in use by the VM
 * (so it cannot be removed there). Once it is Ready, its page's Snapshots tab: take a
 * snapshot of the running guest (a job, with memory), restore it after a confirmation (the
 * guest runs on from it), delete it after another (the mechanism itself is
 * e2e/snapshot.e2e.ts's). Then boot a disk file from the Disks page: a missing file is
 * refused in place, and a premade UEFI disk (made from that base disk) boots. The VMs are
 * removed at the end.
 */
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { bootc, DEMO_IMAGE, makeHome, makePremadeDisk, removeTempDirs } from "../lib/harness.js";
import { shoot } from "../lib/screenshots.js";
import { serve, type Served, signInWithToken, openPrintedLink } from "../lib/api.js";

const home = makeHome();
let server: Served;

test.beforeAll(async () => {
  server = await serve(home);
});

// A failed test keeps its VMs' console logs among its artifacts (test-results/): a boot that
// stalls says where only there, and the home goes with afterAll.
// eslint-disable-next-line no-empty-pattern -- Playwright reads fixtures from a destructuring pattern; this hook needs none
test.afterEach(async ({}, testInfo) => {
  if (testInfo.status === testInfo.expectedStatus) return;
  const vms = path.join(home, "state/vms");
  for (const vm of existsSync(vms) ? readdirSync(vms) : []) {
    const log = path.join(vms, vm, "serial.log");
    if (existsSync(log)) await testInfo.attach(`${vm} serial.log`, { path: log, contentType: "text/plain" });
  }
});

test.afterAll(async () => {
  await bootc(home, ["rm", "--force", "uid"]);
  await bootc(home, ["rm", "--force", "pmui"]);
  await server.stop();
  removeTempDirs();
});

test("boot with a persistent disk; its base disk shows on the Disks page, in use", async ({ page }) => {
  await openPrintedLink(page, server);
  await page.getByRole("button", { name: `Boot ${DEMO_IMAGE}` }).click();
  const dialog = page.getByRole("dialog", { name: `Boot ${DEMO_IMAGE}` });
  await dialog.getByLabel("Persistent disk").check();
  await dialog.getByLabel("Disk size (GiB)").fill("3");
  await dialog.getByLabel("Name").fill("uid");
  // The host-loopback opt-in is off unless ticked, and reaches the engine when it is.
  const loopback = dialog.getByLabel("Let the guest reach this host's loopback (127.0.0.1)");
  await expect(loopback).not.toBeChecked();
  await loopback.check();
  await dialog.getByRole("button", { name: "Boot" }).click();
  await expect(page).toHaveURL(/\/vms\/uid$/);
  expect(JSON.parse(String((await bootc(home, ["inspect", "uid"])).stdout))).toMatchObject({ allowHostLoopback: true });
  await expect(page.getByLabel("Boot timeline")).toContainText("disk built", { timeout: 300_000 });
  await page.getByRole("tab", { name: "Details" }).click();
  await expect(page.getByText(/disk \(direct builder, 3 GiB, base disk [0-9a-f]{12}\)/)).toBeVisible();

  await page.getByRole("link", { name: "Disks" }).click();
  const row = page.getByRole("row").filter({ hasText: DEMO_IMAGE });
  await expect(row).toContainText("direct");
  await expect(row.getByRole("link", { name: "uid" })).toBeVisible();
  await expect(row.getByRole("button", { name: `Remove base disk of ${DEMO_IMAGE}` })).toBeDisabled();
  await shoot(page, "disks");
});

test("the Snapshots tab of the disk VM: take, restore and delete a snapshot of the running guest", async ({ page }) => {
  test.setTimeout(900_000);
  await signInWithToken(page, server);
  await page.goto(`${server.consoleOrigin}/vms/uid`);
  await expect(page.getByLabel("State")).toHaveText("Ready", { timeout: 600_000 });
  await page.getByRole("tab", { name: "Snapshots" }).click();
  const panel = page.getByRole("region", { name: "Snapshots" });
  await expect(panel.getByText("No snapshots")).toBeVisible();

  await panel.getByLabel("Snapshot tag").fill("ui.1");
  await panel.getByRole("button", { name: "Take snapshot" }).click();
  await expect(panel.getByText("Snapshot uid: ui.1: done")).toBeVisible({ timeout: 300_000 });
  const row = panel.getByRole("row").filter({ hasText: "ui.1" });
  await expect(row).toContainText("yes"); // with memory: the guest was running

  await row.getByRole("button", { name: "Restore ui.1" }).click();
  const confirm = page.getByRole("dialog", { name: "Restore uid to ui.1?" });
  await expect(confirm).toContainText("memory and disk");
  await confirm.getByRole("button", { name: "Restore" }).click();
  await expect(panel.getByText("Restore uid: ui.1: done")).toBeVisible({ timeout: 300_000 });

  await row.getByRole("button", { name: "Delete ui.1" }).click();
  await page.getByRole("dialog", { name: "Delete snapshot ui.1?" }).getByRole("button", { name: "Delete" }).click();
  await expect(panel.getByText("No snapshots")).toBeVisible();
  expect(JSON.parse(String((await bootc(home, ["snapshot", "list", "uid", "--json"])).stdout))).toEqual([]);
  // Nothing after this needs the guest running (the next tests use its base disk, which a
  // stopped VM still holds): stopped now, it does not run on beside them for nothing.
  expect((await bootc(home, ["stop", "--force", "uid"])).exitCode).toBe(0);
});

test("boot a disk file from the Disks page: a missing file is refused in place, a premade disk boots", async ({ page }) => {
  await signInWithToken(page, server); // the printed link was used by the first test
  await page.getByRole("link", { name: "Disks" }).click();
  await page.getByRole("button", { name: "Boot a disk file…" }).click();
  const dialog = page.getByRole("dialog", { name: "Boot a disk file" });
  await dialog.getByLabel("Disk file").fill("/nonexistent/disk.qcow2");
  await dialog.getByRole("button", { name: "Boot" }).click();
  await expect(dialog.getByRole("alert")).toContainText("disk file /nonexistent/disk.qcow2 does not exist");

  // A GPT disk with systemd-boot, made from the base disk the first test built.
  const cache = path.join(home, "cache/disks");
  const file = await makePremadeDisk(
    path.join(
      cache,
      readdirSync(cache).find((f) => /^[0-9a-f]{24}$/.test(f))!,
    ),
  );
  await dialog.getByLabel("Disk file").fill(file);
  await dialog.getByLabel("Name").fill("pmui");
  await dialog.getByRole("button", { name: "Boot" }).click();
  await expect(page).toHaveURL(/\/vms\/pmui$/);
  await expect(page.getByLabel("Boot timeline")).toContainText("✓ kernel to userspace", { timeout: 600_000 });
  await page.getByRole("tab", { name: "Details" }).click();
  await expect(page.getByText("disk (premade builder")).toBeVisible();
  // Its boot to userspace is what this test shows; the rest of it would only compete with the export below.
  expect((await bootc(home, ["stop", "--force", "pmui"])).exitCode).toBe(0);
});

test("export a bootable disk image from the Disks page: a bad path is refused in place, then the job runs to done", async ({ page }) => {
  await signInWithToken(page, server);
  await page.getByRole("link", { name: "Disks" }).click();
  await page
    .getByRole("row")
    .filter({ hasText: DEMO_IMAGE })
    .first()
    .getByRole("button", { name: `Export ${DEMO_IMAGE}` })
    .click();
  const dialog = page.getByRole("dialog", { name: "Export a disk image" });
  await expect(dialog.getByLabel("Image")).toHaveValue(DEMO_IMAGE);
  await dialog.getByLabel("File").fill("/nonexistent/dir/demo.qcow2");
  await dialog.getByRole("button", { name: "Export" }).click();
  await expect(dialog.getByRole("alert")).toContainText("the directory of /nonexistent/dir/demo.qcow2 does not exist");
  const file = path.join(home, "exported.qcow2");
  await dialog.getByLabel("File").fill(file);
  await dialog.getByRole("button", { name: "Export" }).click();
  await expect(page.getByText(`Export ${DEMO_IMAGE}: done`)).toBeVisible({ timeout: 300_000 });
  await expect(page.getByRole("region", { name: `Progress: Export ${DEMO_IMAGE}` })).toContainText(`wrote ${file} (qcow2`);
  expect(existsSync(file)).toBe(true);
});
