/**
 * An image without sshd, booted from the web console with a console password (the boot
 * dialog's field): the user logs in on the serial console in the browser.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { expect, test, type Page } from "@playwright/test";
import { bootc, DEMO_IMAGE, makeHome, removeTempDirs } from "../lib/harness.js";
import { serve, type Served, openPrintedLink } from "../lib/api.js";

const home = makeHome();
const TAG = "localhost/bootc-ui-nossh:latest";
const PASSWORD = "web console pw";
let server: Served;

test.beforeAll(async () => {
  const ctx = path.join(home, "nossh");
  mkdirSync(ctx);
  writeFileSync(path.join(ctx, "Containerfile"), `FROM ${DEMO_IMAGE}\nRUN ln -sf /dev/null /etc/systemd/system/ssh.service\n`);
  await execa("podman", ["build", "--network=none", "-q", "-t", TAG, ctx]);
  server = await serve(home);
});

test.afterAll(async () => {
  await bootc(home, ["rm", "--force", "uipw"]);
  await server.stop();
  removeTempDirs();
  await execa("podman", ["rmi", "-f", TAG], { reject: false });
});

const serialText = async (page: Page) => (await page.getByRole("region", { name: "Serial console" }).locator(".xterm-accessibility-tree").textContent()) ?? "";

test("boot an image without sshd with a console password, and log in on the serial console", async ({ page }) => {
  await openPrintedLink(page, server);
  await page.getByRole("button", { name: `Boot ${TAG}` }).click();
  const dialog = page.getByRole("dialog", { name: `Boot ${TAG}` });
  await dialog.getByLabel("Name").fill("uipw");
  await dialog.getByLabel("Console password").fill(PASSWORD);
  await dialog.getByRole("button", { name: "Boot" }).click();
  await expect(page).toHaveURL(/\/vms\/uipw$/);
  // Only the hash is kept, and the dialog never stored the password in the browser.
  expect(readFileSync(path.join(home, "state/vms/uipw/vm.json"), "utf8")).not.toContain(PASSWORD);
  expect(await page.evaluate(() => JSON.stringify(localStorage))).not.toContain(PASSWORD);

  await page.getByLabel("Screen reader mode").check();
  await expect.poll(() => serialText(page), { timeout: 600_000 }).toMatch(/ login:/);
  await page.getByRole("region", { name: "Serial console" }).click();
  await page.keyboard.type("root\n");
  await expect.poll(() => serialText(page), { timeout: 60_000 }).toMatch(/Password:/);
  await page.keyboard.type(`${PASSWORD}\n`);
  // Typed ahead, a command is eaten by login; wait for the shell.
  await expect.poll(() => serialText(page), { timeout: 90_000 }).toMatch(/root@[\w.-]+:\S*# /);
  await page.keyboard.type("echo WEB-$((6*7))\n");
  await expect.poll(() => serialText(page), { timeout: 90_000 }).toContain("WEB-42");
});
