/**
 * The edit → build → boot loop in the web console: build an image from a Containerfile
 * directory, boot it, edit a file, click "Rebuild & reboot", and the VM soft-reboots into
 * it with the serial console attached throughout; then, with "Rebuild on change" on, a
 * save alone rebuilds the image and reboots the VM into it.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { expect, test, type Page } from "@playwright/test";
import { bootc, bootcJson, DEMO_IMAGE, makeHome, removeTempDirs } from "../lib/harness.js";
import { serve, type Served, openPrintedLink } from "../lib/api.js";

const home = makeHome();
const src = path.join(home, "src");
const TAG = "localhost/bootc-ui-rebuild:latest";
let server: Served;

test.beforeAll(async () => {
  mkdirSync(src);
  writeFileSync(path.join(src, "Containerfile"), `FROM ${DEMO_IMAGE}\nCOPY motd /etc/motd\n`);
  writeFileSync(path.join(src, "motd"), "version 1\n");
  server = await serve(home);
});

test.afterAll(async () => {
  await bootc(home, ["rm", "--force", "uir"]);
  await server.stop();
  removeTempDirs();
  await execa("podman", ["rmi", "-f", TAG], { reject: false });
});

const serialText = async (page: Page) => (await page.getByRole("region", { name: "Serial console" }).locator(".xterm-accessibility-tree").textContent()) ?? "";

test("build from a directory, boot, edit, rebuild & reboot; the console follows", async ({ page }) => {
  await openPrintedLink(page, server);
  await page.getByLabel("Containerfile directory").fill(src);
  await page.getByLabel("Image name").fill(TAG);
  await page.getByRole("button", { name: "Build", exact: true }).click();
  await expect(page.getByText(`Build ${TAG}: done`)).toBeVisible({ timeout: 300_000 });

  await page.getByRole("button", { name: `Boot ${TAG}` }).click();
  const dialog = page.getByRole("dialog", { name: `Boot ${TAG}` });
  await dialog.getByLabel("Name").fill("uir");
  await dialog.getByRole("button", { name: "Boot" }).click();
  await expect(page).toHaveURL(/\/vms\/uir$/);
  await page.getByLabel("Screen reader mode").check();
  await expect(page.getByLabel("State")).toHaveText("Ready", { timeout: 600_000 });
  expect(String((await bootc(home, ["ssh", "uir", "--", "cat", "/etc/motd"])).stdout).trim()).toBe("version 1");

  const v1 = (await bootcJson<{ imageId: string }>(home, ["inspect", "uir"])).imageId;
  writeFileSync(path.join(src, "motd"), "version 2\n");
  await page.getByRole("button", { name: "Rebuild & reboot" }).click();
  // An ephemeral VM soft-reboots: the console stays attached and marks the switch, then shows the new root's boot.
  await expect.poll(() => serialText(page), { timeout: 300_000 }).toMatch(/── soft reboot into localhost\/bootc-ui-rebuild:latest@[0-9a-f]{12} ──/);
  await expect(page.getByLabel("Serial console connection")).toHaveText("Connected");
  await expect(page.getByText(/Rebuild & reboot uir \(requested\): done/)).toBeVisible({ timeout: 600_000 });
  await expect(page.getByLabel("State")).toHaveText("Ready", { timeout: 600_000 });
  await expect(page.getByRole("list", { name: "Boot timeline" })).toContainText("soft reboot");
  expect(String((await bootc(home, ["ssh", "uir", "--", "cat", "/etc/motd"])).stdout).trim()).toBe("version 2");
  await expect(page.getByText(/Rebuild & reboot uir \(requested\): done/)).toBeVisible();
  // The build it replaced, now untagged, is gone from podman's storage.
  expect((await execa("podman", ["image", "exists", v1], { reject: false })).exitCode).toBe(1);

  // "Rebuild on change": saving the file is enough; the VM reboots into the new build.
  // (Booting it to SSH again would prove no more than the reboot above: same engine path.)
  const imageOf = async () => await bootcJson<{ imageId: string; timeline: Array<{ event: string }> }>(home, ["inspect", "uir"]);
  const v2 = (await imageOf()).imageId;
  // Clicked by its label, as a user does (PatternFly draws the toggle over the input).
  await page.getByText("Rebuild on change", { exact: true }).click();
  await expect(page.getByLabel("Rebuild on change")).toBeChecked();
  writeFileSync(path.join(src, "motd"), "version 3\n");
  await expect
    .poll(
      async () => {
        const vm = await imageOf();
        return vm.imageId !== v2 && vm.timeline[0]?.event === "build-started";
      },
      { timeout: 300_000, intervals: [2_000] },
    )
    .toBe(true);
  await page.getByText("Rebuild on change", { exact: true }).click();
  await expect(page.getByLabel("Rebuild on change")).not.toBeChecked();
});
