/**
 * The Images page shows each image's architecture and marks one the host emulates; the boot
 * dialog of such an image says it is emulated and slow (issue #26). No guest boots: the
 * dialog is opened and closed. Skipped without the arm64 demo (bootc demo build --arch arm64).
 */
import { execa } from "execa";
import { expect, test } from "@playwright/test";
import { makeHome, removeTempDirs } from "../lib/harness.js";
import { serve, signInWithToken, type Served } from "../lib/api.js";

const ARM64_IMAGE = "localhost/bootc-demo-arm64:latest";
const present = (await execa("podman", ["image", "exists", ARM64_IMAGE], { reject: false })).exitCode === 0;

let server: Served;
test.describe.configure({ mode: "serial" });
test.skip(!present, `needs ${ARM64_IMAGE}`);
test.beforeAll(async () => {
  server = await serve(makeHome());
});
test.afterAll(async () => {
  await server?.stop();
  removeTempDirs();
});

test("an arm64 image is shown as arm64, emulated, and its boot dialog says emulated (slow)", async ({ page }) => {
  await signInWithToken(page, server);
  const row = page.getByRole("row").filter({ hasText: ARM64_IMAGE });
  await expect(row.getByRole("gridcell", { name: "arm64 emulated", exact: true })).toBeVisible();
  await expect(page.getByRole("row").filter({ hasText: "localhost/bootc-demo:latest" }).getByRole("gridcell", { name: "amd64", exact: true })).toBeVisible();
  await expect(page.getByRole("row").filter({ hasText: "localhost/bootc-demo:latest" })).not.toContainText("emulated");
  await row.getByRole("button", { name: `Boot ${ARM64_IMAGE}` }).click();
  const dialog = page.getByRole("dialog", { name: `Boot ${ARM64_IMAGE}` });
  await expect(dialog.getByText("emulated (slow)")).toBeVisible();
  await expect(dialog).toContainText("an arm64 image on this amd64 host runs under qemu-system-aarch64 with TCG");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(dialog).toBeHidden();
});
