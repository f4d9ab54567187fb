/**
 * The Images page's podman: it says which podman it shows, saves another by name on the
 * server, switches to it, says in one sentence why it cannot be reached (its SSH key is
 * not there), and switches back; the choice outlives a reload. No guest and no remote
 * podman here: listing and booting a reachable one are e2e/remote-podman.e2e.ts's.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { makeHome, removeTempDirs } from "../lib/harness.js";
import { openPrintedLink, serve, type Served } from "../lib/api.js";

const home = makeHome();
let server: Served;

test.beforeAll(async () => {
  server = await serve(home);
});

test.afterAll(async () => {
  await server.stop();
  removeTempDirs();
});

test("save a podman, switch to it, read why it cannot be reached, switch back", async ({ page }) => {
  await openPrintedLink(page, server);
  await expect(page.getByText("Showing the images of this server's podman (the local podman).")).toBeVisible();
  await page.getByRole("button", { name: "Add a podman…" }).click();
  await page.getByLabel("Podman name").fill("nowhere");
  const url = "ssh://nobody@127.0.0.1:1/run/user/1000/podman/podman.sock";
  await page.getByLabel("Podman URL or connection").fill(url);
  await page.getByLabel("SSH key").fill("/nonexistent/key");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByText(`Showing the images of nowhere, the podman at ${url}.`)).toBeVisible();
  await expect(page.getByRole("alert").filter({ hasText: "SSH key" })).toHaveText(
    /the SSH key \/nonexistent\/key for the podman at ssh:\/\/nobody@127\.0\.0\.1:1\/run\/user\/1000\/podman\/podman\.sock cannot be read \(no such file or directory\)/,
  );
  // Saved on the server, privately.
  const saved = JSON.parse(readFileSync(path.join(home, "state", "podmans.json"), "utf8")) as unknown;
  expect(saved).toEqual({ podmans: [{ name: "nowhere", podman: { url, identity: "/nonexistent/key" } }] });
  await page.reload();
  await expect(page.getByLabel("Podman", { exact: true })).toHaveValue("nowhere");
  await page.getByLabel("Podman", { exact: true }).selectOption("");
  await expect(page.getByText("Showing the images of this server's podman (the local podman).")).toBeVisible();
  await expect(page.getByRole("alert").filter({ hasText: "SSH key" })).toHaveCount(0);
});
