/**
 * The web console with a libvirt host: saved on the Hosts page (a bad URI is refused in
 * place), chosen in the boot dialog's Host field, the VM listed and filtered by host, and
 * its serial and SSH consoles in the browser — both reached through libvirt's host, not
 * bootc's monitor. libvirtd runs for this file only (e2e/lib/libvirt-host.ts).
 */
import net from "node:net";
import { execa } from "execa";
import { expect, test, type Page } from "@playwright/test";
import { bootc, DEMO_IMAGE, makeHome, removeTempDirs } from "../lib/harness.js";
import { shoot } from "../lib/screenshots.js";
import { serve, type Served, openPrintedLink } from "../lib/api.js";
import { startLibvirt, type LibvirtHost } from "../lib/libvirt-host.js";

const home = makeHome();
let server: Served;
let host: LibvirtHost;

test.beforeAll(async () => {
  host = await startLibvirt();
  server = await serve(home);
});

test.afterAll(async () => {
  await bootc(home, ["rm", "--force", "uilv"]);
  await execa("virsh", ["-q", "-c", "qemu:///system", "destroy", "uilv"], { reject: false });
  await execa("virsh", ["-q", "-c", "qemu:///system", "undefine", "uilv"], { reject: false });
  await server.stop();
  await host.stop();
  removeTempDirs();
});

/** The first line sshd sends, or "" while nothing answers. */
const sshBanner = (port: number) =>
  new Promise<string>((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    const done = (text: string) => (sock.destroy(), resolve(text));
    sock.once("data", (d) => done(d.toString()));
    sock.once("error", () => done(""));
    setTimeout(() => done(""), 5000);
  });

const terminalText = async (page: Page, name: string) => (await page.getByRole("region", { name }).locator(".xterm-accessibility-tree").textContent()) ?? "";

test("save a libvirt host, boot a VM there, and use its serial and SSH consoles", async ({ page }) => {
  await openPrintedLink(page, server);
  await page.getByRole("link", { name: "Hosts" }).click();
  await expect(page.getByRole("heading", { name: "Add a libvirt host" })).toBeVisible();
  const form = page.locator("#host-form");
  await form.getByRole("textbox", { name: "Name", exact: true }).fill("bad");
  await form.getByRole("textbox", { name: "Connection URI" }).fill("xen:///system");
  await page.getByRole("button", { name: "Save host" }).click();
  await expect(form.getByRole("alert")).toContainText('"xen:///system" is not a libvirt connection bootc can use');

  await form.getByRole("textbox", { name: "Name", exact: true }).fill("uihost");
  await form.getByRole("textbox", { name: "Connection URI" }).fill("qemu:///system");
  await form.getByRole("textbox", { name: "Storage pool" }).fill(host.pool);
  await page.getByRole("button", { name: "Save host" }).click();
  await expect(page.getByRole("row", { name: "Host uihost" })).toContainText("qemu:///system");
  await shoot(page, "hosts");

  await page.getByRole("link", { name: "Images" }).click();
  await page.getByRole("button", { name: `Boot ${DEMO_IMAGE}` }).click();
  const dialog = page.getByRole("dialog", { name: `Boot ${DEMO_IMAGE}` });
  await expect(dialog.getByLabel("Persistent disk")).toHaveCount(1);
  await dialog.getByLabel("Host", { exact: true }).selectOption("uihost");
  // A libvirt VM is a disk-mode VM: the mode goes away (shared folders stay on this machine's libvirt).
  await expect(dialog.getByLabel("Persistent disk")).toHaveCount(0);
  await expect(dialog.getByRole("button", { name: "Add shared folder" })).toHaveCount(1);
  await dialog.getByLabel("Name").fill("uilv");
  await dialog.getByRole("button", { name: "Boot" }).click();
  // The dialog closes at once: the VM's page shows the base disk and upload as they go.
  await expect(page).toHaveURL(/\/vms\/uilv$/, { timeout: 60_000 });
  await expect(page.getByLabel("Disk build progress").first()).toBeVisible({ timeout: 120_000 });
  const domstate = async () => (await execa("virsh", ["-q", "-c", "qemu:///system", "domstate", "uilv"], { reject: false })).stdout.trim();
  await expect.poll(domstate, { timeout: 600_000, intervals: [2000] }).toBe("running");

  await page.getByLabel("Screen reader mode").check();
  await expect.poll(() => terminalText(page, "Serial console"), { timeout: 600_000 }).toMatch(/ login:/);

  // Past the login prompt sshd may still be starting: wait for its banner before opening SSH.
  const sshPort = JSON.parse((await bootc(home, ["inspect", "uilv"])).stdout as string).sshPort as number;
  await expect.poll(() => sshBanner(sshPort), { timeout: 300_000, intervals: [2000] }).toMatch(/^SSH-2\.0/);
  await page.getByRole("tab", { name: "SSH" }).click();
  await expect(page.getByLabel("SSH console connection")).toHaveText("Connected", { timeout: 120_000 });
  await page.locator("#ssh-reader").check();
  await page.getByRole("region", { name: "SSH console" }).click();
  await page.keyboard.type("echo over-$((6*7))-libvirt\n");
  await expect.poll(() => terminalText(page, "SSH console"), { timeout: 60_000 }).toContain("over-42-libvirt");

  await page.getByRole("link", { name: "Virtual machines" }).click();
  await expect(page.getByRole("row", { name: "VM uilv" })).toContainText("uihost");
});
