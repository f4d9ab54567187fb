/**
 * The web console as a user drives it, against the real server and a real guest (TCG):
 * sign in, boot the demo image with a shared folder, watch the serial console, use SSH,
 * write into the shared folder, stop and remove from the VM list. Then the boot dialog's
 * defaults, hints and per-field errors (no guest).
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { DEMO_IMAGE, makeHome, removeTempDirs } from "../lib/harness.js";
import { client, serve, type Served, openPrintedLink, signInWithToken } from "../lib/api.js";
import { shoot } from "../lib/screenshots.js";
import { RunOptionsSchema } from "../../engine/core/schema.js";

const home = makeHome();
const shareDir = path.join(home, "share");
let server: Served;

test.describe.configure({ mode: "serial" });

test.beforeAll(async () => {
  mkdirSync(shareDir);
  server = await serve(home);
});

test.afterAll(async () => {
  await fetch(`${server.origin}/api/trpc/vms.remove`, {
    method: "POST",
    headers: { Authorization: `Bearer ${server.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ name: "ui", force: true }),
  }).catch(() => undefined);
  await server.stop();
  removeTempDirs();
});

/** A TCP relay to the server whose connections a test can cut (closed) or freeze (silent, still open). */
async function startRelay(target: number) {
  const live = new Set<{ client: net.Socket; upstream: net.Socket }>();
  const frozen: net.Socket[] = [];
  const relay = net.createServer((client) => {
    const upstream = net.connect(target, "127.0.0.1");
    const pair = { client, upstream };
    live.add(pair);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      live.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
  });
  await new Promise<void>((r) => relay.listen(0, "127.0.0.1", () => r()));
  return {
    port: (relay.address() as net.AddressInfo).port,
    cut: () => {
      for (const p of [...live]) p.client.destroy();
    },
    freeze: () => {
      for (const p of [...live]) {
        p.client.unpipe(p.upstream);
        p.upstream.unpipe(p.client);
        p.client.pause();
        p.upstream.pause();
        frozen.push(p.client, p.upstream);
        live.delete(p);
      }
    },
    close: () => {
      for (const p of [...live]) p.client.destroy();
      for (const sock of frozen) sock.destroy();
      relay.close();
    },
  };
}

/** The terminal's text, through xterm's screen-reader (accessibility) tree. */
async function terminalText(page: Page, region: string): Promise<string> {
  return (await page.getByRole("region", { name: region }).locator(".xterm-accessibility-tree").textContent()) ?? "";
}

test("sign in, boot the demo image, use its consoles and shared folder, stop and remove it", async ({ page, browser }) => {
  await openPrintedLink(page, server);
  await expect(page).toHaveURL(`${server.consoleOrigin}/`); // signed in on the console's own name; the token left the URL
  await expect(page.getByRole("heading", { name: "Images" })).toBeVisible();
  const images = page.getByRole("grid", { name: "Images" }).or(page.getByRole("table", { name: "Images" }));
  await expect(images.getByText(DEMO_IMAGE)).toBeVisible();
  await shoot(page, "images");

  await page.getByRole("button", { name: `Boot ${DEMO_IMAGE}` }).click();
  const dialog = page.getByRole("dialog", { name: `Boot ${DEMO_IMAGE}` });
  await dialog.getByLabel("Name").fill("ui");
  await dialog.getByRole("button", { name: "Add shared folder" }).click();
  await dialog.getByLabel("Host folder 1").fill(shareDir);
  await dialog.getByLabel("Guest folder 1").fill("/mnt/share");
  await shoot(page, "boot-dialog");
  await dialog.getByRole("button", { name: "Boot" }).click();

  await expect(page).toHaveURL(/\/vms\/ui$/);
  await page.getByLabel("Screen reader mode").check();
  await expect(page.getByLabel("Serial console connection")).toHaveText("Connected", { timeout: 60_000 });
  // Under TCG the console is quiet (errors only) until the login prompt, which may come after
  // three minutes when another guest boots beside this one: wait for the VM, then read the screen.
  await expect(page.getByLabel("State")).toHaveText("Ready", { timeout: 600_000 });
  await expect.poll(() => terminalText(page, "Serial console"), { timeout: 120_000 }).toMatch(/login:|\[ *\d+\.\d+\]|systemd/);
  await expect(page.getByRole("list", { name: "Boot timeline" })).toContainText("ssh ready");
  // Headless Chromium's WebGL is SwiftShader, on the CPU: the console keeps xterm's DOM
  // renderer there, which costs a third of the CPU (app/lib/gl-renderer.ts).
  await expect(page.locator(".bootc-terminal[data-renderer]").first()).toHaveAttribute("data-renderer", "dom");
  await shoot(page, "vm-serial");

  await page.getByRole("tab", { name: "SSH" }).click();
  await expect(page.getByLabel("SSH console connection")).toHaveText("Connected", { timeout: 60_000 });
  await page.getByRole("tab", { name: "SSH" }).click();
  const sshReader = page.locator("#ssh-reader");
  await sshReader.check();
  await page.getByRole("region", { name: "SSH console" }).click();
  await page.keyboard.type("cat /etc/os-release\n");
  await expect.poll(() => terminalText(page, "SSH console"), { timeout: 60_000 }).toContain('PRETTY_NAME="Debian GNU/Linux');
  await page.keyboard.type("echo from-the-browser > /mnt/share/ui.txt\n");
  // The guest's shell creates the file before it writes it: wait for the content.
  const shared = path.join(shareDir, "ui.txt");
  await expect.poll(() => (existsSync(shared) ? readFileSync(shared, "utf8") : ""), { timeout: 60_000 }).toBe("from-the-browser\n");
  await shoot(page, "vm-ssh");

  // The Logs tab shows the whole serial log, up to the login prompt.
  await page.getByRole("tab", { name: "Logs" }).click();
  await expect(page.getByLabel("Serial log")).toContainText("login:");

  // A reload replays the serial console.
  await page.reload();
  await page.getByLabel("Screen reader mode").check();
  await expect.poll(() => terminalText(page, "Serial console"), { timeout: 60_000 }).toMatch(/login:|Reached target/);

  // Connection states, through a relay in front of the server that can cut or freeze the
  // connections it carries: a drop offers Reconnect (twice in a row), and a connection that
  // goes silent is noticed by the heartbeat, without waiting for TCP.
  const relay = await startRelay(server.port);
  try {
    // The relay is another origin (another port): the page there signs in on its own, since
    // the session key lives in each origin's storage.
    const relayOrigin = `http://${new URL(server.consoleOrigin).hostname}:${relay.port}`;
    await signInWithToken(page, { consoleOrigin: relayOrigin, token: server.token });
    await page.goto(`${relayOrigin}/vms/ui`);
    const badge = page.getByLabel("Serial console connection");
    await expect(badge).toHaveText("Connected");
    for (let i = 0; i < 2; i++) {
      relay.cut();
      await expect(badge).toHaveText(/^Disconnected: /);
      await page.getByRole("button", { name: "Reconnect" }).click();
      await expect(badge).toHaveText("Connected");
    }
    relay.freeze();
    await expect(badge).toHaveText("Disconnected: no answer from the server for 25s", { timeout: 60_000 });
    await page.getByRole("button", { name: "Reconnect" }).click();
    await expect(badge).toHaveText("Connected");
  } finally {
    relay.close();
  }
  // Signing in on the relay's origin replaced the session cookie (cookies ignore ports): sign in here again.
  await signInWithToken(page, server);
  await page.goto(`${server.consoleOrigin}/vms/ui`);

  // A page on another origin cannot open the console websocket, even with the cookie.
  const evil = http.createServer((_req, res) => res.end("<html><body>other site</body></html>")).listen(0, "127.0.0.1");
  await new Promise((r) => evil.once("listening", r));
  const evilPort = (evil.address() as { port: number }).port;
  const other = await page.context().newPage();
  await other.goto(`http://127.0.0.1:${evilPort}/`);
  const outcome = await other.evaluate(
    (url) =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(url);
        ws.binaryType = "arraybuffer";
        let got = 0;
        ws.onmessage = () => got++;
        ws.onopen = () => resolve("opened");
        ws.onclose = () => resolve(`closed after ${got} messages`);
      }),
    `ws://127.0.0.1:${server.port}/api/term/serial/ui`,
  );
  expect(outcome).toBe("closed after 0 messages");
  await other.close();
  evil.close();

  await page.getByRole("link", { name: "Virtual machines" }).click();
  const row = page.getByRole("row", { name: "VM ui" });
  await expect(row).toContainText("Ready");
  await shoot(page, "vms");
  await row.getByRole("button", { name: "Actions for ui" }).click();
  await page.getByRole("menuitem", { name: "Stop", exact: true }).click();
  const confirm = page.getByRole("dialog", { name: "Stop VM ui?" });
  await confirm.getByRole("button", { name: "Stop" }).click();
  await expect(row).toContainText("Stopped", { timeout: 180_000 });
  // The console of a stopped VM says what happened to the VM, not what the socket did.
  await page.goto(`${server.consoleOrigin}/vms/ui`);
  await expect(page.getByLabel("Serial console connection")).toHaveText("VM ui stopped: stopped by the user");
  await expect(page.getByRole("button", { name: "Reconnect" })).toHaveCount(0);
  await expect(page.getByLabel("Serial console reattached")).toHaveCount(0);
  await page.getByRole("link", { name: "Virtual machines" }).click();
  await row.getByRole("button", { name: "Actions for ui" }).click();
  await page.getByRole("menuitem", { name: "Remove" }).click();
  await page.getByRole("dialog", { name: "Remove VM ui?" }).getByRole("button", { name: "Remove" }).click();
  await expect(row).toHaveCount(0);
  await expect(page.getByText("No virtual machines")).toBeVisible();
  await shoot(page, "vms-empty");
  void browser;
});

test("the boot dialog takes its defaults and hints from the engine's schema, and shows a bad value's error under its field", async ({ page }) => {
  await signInWithToken(page, server);
  await page.getByRole("button", { name: `Boot ${DEMO_IMAGE}` }).click();
  const dialog = page.getByRole("dialog", { name: `Boot ${DEMO_IMAGE}` });
  const defaults = RunOptionsSchema.parse({});
  // This browser's first boot dialog for the image: nothing remembered, the schema's defaults.
  await expect(dialog.getByLabel("vCPUs")).toHaveValue(String(defaults.cpus));
  await expect(dialog.getByLabel("Memory (MiB)")).toHaveValue(String(defaults.memoryMiB));
  await expect(dialog.getByLabel("User")).toHaveValue(defaults.user);
  await expect(dialog.getByLabel("Pull the image")).toHaveValue(defaults.pull);
  const help = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
  await expect(dialog.getByLabel("Name")).toHaveAccessibleDescription(help(RunOptionsSchema.shape.name.description!));

  await dialog.getByLabel("Name").fill("Bad Name");
  await dialog.getByLabel("Memory (MiB)").fill("100");
  await dialog.getByRole("button", { name: "Add port forward" }).click();
  await dialog.getByLabel("Host port 1").fill("99999");
  await dialog.getByLabel("Guest port 1").fill("80");
  await dialog.getByRole("button", { name: "Boot" }).click();

  // Each message under its own field, read with it; the dialog stays open and no VM is made.
  await expect(dialog.getByLabel("Name")).toHaveAccessibleDescription(/Use 1–40 characters: lower-case letters/);
  await expect(dialog.getByLabel("Name")).toHaveAttribute("aria-invalid", "true");
  await expect(dialog.getByLabel("Memory (MiB)")).toHaveAccessibleDescription(/Use 256 MiB to 1 TiB/);
  await expect(dialog.getByLabel("Host port 1")).toHaveAccessibleDescription(/Ports are 1–65535/);
  await expect(dialog.getByLabel("Host port 1")).toHaveAttribute("aria-invalid", "true");
  await expect(dialog.getByLabel("Guest port 1")).toHaveAttribute("aria-invalid", "false");
  await expect(dialog.getByLabel("vCPUs")).toHaveAccessibleDescription(help(RunOptionsSchema.shape.cpus.description!));
  await expect(dialog.getByRole("alert")).toHaveText(/Check the fields marked below/);
  await shoot(page, "boot-dialog-errors");
  expect(await client(server).vms.list.query()).toEqual([]);
  await dialog.getByRole("button", { name: "Cancel" }).click();
});
