/**
 * The edit → build → boot loop in the web console: build an image from a Containerfile
 * directory, boot it, edit a file (and add a unit that sleeps 3 s at boot), click "Rebuild
 * & reboot", and the VM soft-reboots into it with the serial console attached throughout;
 * the Boot tab draws where the new boot's time went and names the unit the rebuild added;
 * then, with "Rebuild on change" on, a save alone rebuilds the image and reboots the VM into it.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { expect, test, type Page } from "@playwright/test";
import { bootc, bootcJson, DEMO_IMAGE, makeHome, removeTempDirs } from "../lib/harness.js";
import { shoot } from "../lib/screenshots.js";
import { serve, type Served, openPrintedLink } from "../lib/api.js";

const home = makeHome();
const src = path.join(home, "src");
const TAG = "localhost/bootc-ui-rebuild:latest";
const SLEEPER = "bootc-ui-sleep.service";
let server: Served;
/** The builds a newer one replaced. The engine removes each once the VM has rebooted into its successor; the last may be left when the test ends first. */
const replaced: string[] = [];

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
  for (const id of replaced) await execa("podman", ["rmi", "-f", id], { reject: false });
});

const serialText = async (page: Page) => (await page.getByRole("region", { name: "Serial console" }).locator(".xterm-accessibility-tree").textContent()) ?? "";

test("build from a directory, boot, edit, rebuild & reboot; the console follows", async ({ page }) => {
  // Three boots, and the Boot tab asks the second guest once its boot has finished: longer than one test's default under TCG.
  test.setTimeout(25 * 60_000);
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

  // The first boot's report, read once that boot has finished (as its Boot tab would): a rebuild
  // does not wait for the boot it replaces to finish, and the comparison below needs its units.
  expect((await bootcJson<{ unitsFrom: string }>(home, ["inspect", "uir", "--boot"])).unitsFrom).toBe("systemd-analyze");
  const v1 = (await bootcJson<{ imageId: string }>(home, ["inspect", "uir"])).imageId;
  replaced.push(v1);
  writeFileSync(path.join(src, "motd"), "version 2\n");
  writeFileSync(path.join(src, "sleep.service"), "[Unit]\nDescription=Sleeps 3 s at boot\n[Service]\nType=oneshot\nExecStart=/bin/sleep 3\n");
  writeFileSync(
    path.join(src, "Containerfile"),
    `FROM ${DEMO_IMAGE}\nCOPY motd /etc/motd\nCOPY sleep.service /etc/systemd/system/${SLEEPER}\n` +
      `RUN ln -s /etc/systemd/system/${SLEEPER} /etc/systemd/system/multi-user.target.wants/${SLEEPER}\n`,
  );
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

  // The Boot tab: the new boot's phases and critical chain as charts, and what the rebuild changed.
  await page.getByRole("tab", { name: "Boot" }).click();
  const phases = page.getByRole("group", { name: "Boot phases" });
  await expect(phases).toBeVisible({ timeout: 300_000 }); // the guest is asked once its boot has finished
  // A soft reboot has no firmware or kernel: one phase, from the switch to SSH.
  await expect(page.getByRole("heading", { name: /^[\d.]+ s from the soft reboot to SSH ready$/ })).toBeVisible();
  await expect(phases.getByRole("img", { name: /^userspace to SSH: [\d.]+ s, from 0\.00 s to [\d.]+ s$/ })).toBeVisible();
  await expect(page.getByRole("group", { name: "Critical chain" }).getByRole("img", { name: /^multi-user\.target: .*active at [\d.]+ s/ })).toBeVisible();
  const compared = page.getByRole("region", { name: "Compared with the previous boot" });
  await expect(compared.getByRole("list", { name: "Unit changes" }).getByRole("listitem").first()).toHaveText(
    new RegExp(`^${SLEEPER.replaceAll(".", "\\.")}: \\+[\\d.]+ s \\(new in this boot\\)$`),
  );
  await expect(compared.getByRole("list", { name: "Phase changes" })).toBeVisible();
  await shoot(page, "vm-boot");

  // "Rebuild on change": saving the file is enough; the VM reboots into the new build.
  // (Booting it to SSH again would prove no more than the reboot above: same engine path.)
  const imageOf = async () => await bootcJson<{ imageId: string; timeline: Array<{ event: string }> }>(home, ["inspect", "uir"]);
  const v2 = (await imageOf()).imageId;
  replaced.push(v2);
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
