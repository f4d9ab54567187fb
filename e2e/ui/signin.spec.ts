/**
 * Signing in, as a browser does it, and what the session may reach (no guest needed):
 * the printed link signs Chromium in on the console's own host name, once; the token is in
 * no URL the browser keeps (its history database is read); the session cookie never reaches another local server
 * (another port of 127.0.0.1 or localhost, as a guest's forwarded web server would be), and
 * the one that does (another port of the console's own name: cookies ignore ports) opens
 * nothing with it — the console's pages send the session's key, which no other port sees;
 * an SSH-tunnelled port works; the pages run under a CSP without 'unsafe-inline' scripts;
 * revoking sessions signs the browser out.
 */
import http from "node:http";
import net from "node:net";
import { readFileSync } from "node:fs";
import path from "node:path";
import { chromium, expect, test } from "@playwright/test";
import { makeHome, removeTempDirs, tempDir } from "../lib/harness.js";
import { rawRequest, serve, signInWithToken, type Served } from "../lib/api.js";

let server: Served;
test.describe.configure({ mode: "serial" });
test.beforeAll(async () => {
  server = await serve(makeHome());
});
test.afterAll(async () => {
  await server.stop();
  removeTempDirs();
});

const listen = (srv: net.Server) => new Promise<number>((resolve) => srv.listen(0, "127.0.0.1", () => resolve((srv.address() as net.AddressInfo).port)));

test("the printed link signs in on the console's own name; the token is in no URL the browser keeps; no CSP violation", async () => {
  // A profile on disk, so the browser's own history database can be read afterwards.
  const profile = tempDir("bce-profile-");
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.BOOTC_CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu"],
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const violations: string[] = [];
    page.on("console", (m) => {
      if (/Content Security Policy|Refused to/.test(m.text())) violations.push(m.text());
    });
    expect(server.url).toMatch(/^http:\/\/bootc-[0-9a-f]+\.localhost:\d+\/signin#code=/);
    expect(server.url).not.toContain(server.token);
    const first = await page.goto(server.url);
    expect(first?.headers()["content-security-policy"]).toMatch(/script-src 'self' 'nonce-[^']+'/);
    expect(first?.headers()["content-security-policy"]).not.toMatch(/script-src[^;]*unsafe-inline/);
    await expect(page).toHaveURL(`${server.consoleOrigin}/`);
    await expect(page.getByRole("heading", { name: "Images" })).toBeVisible();
    // The pages' API calls get through: a query (the images) and a subscription (the VM list, over server-sent events).
    await expect(page.getByRole("grid", { name: "Images" }).or(page.getByRole("heading", { name: "No bootable image yet" }))).toBeVisible();
    await page.getByRole("link", { name: "Virtual machines" }).click();
    await expect(page.getByRole("heading", { name: "No virtual machines" })).toBeVisible();
    expect(violations).toEqual([]);
    // An old-style ?token= link still signs in, through a one-time code of its own.
    await page.goto(`${server.origin}/vms?token=${server.token}`);
    await expect(page).toHaveURL(`${server.consoleOrigin}/vms`);
  } finally {
    await context.close();
  }
  // Browsers keep every visited URL, fragment included: the token is in none of them
  // (only the ?token= URL this test typed itself, which a user need never type).
  const history = readFileSync(path.join(profile, "Default/History")).toString("latin1");
  const urlsWithToken = [...history.matchAll(/https?:\/\/[\x21-\x7e]+/g)].map((m) => m[0]).filter((u) => u.includes(server.token) && !u.includes("?token="));
  expect(urlsWithToken).toEqual([]);
  expect(history).toContain(`${server.consoleOrigin}/signin`); // it was read: the sign-in page is there
});

test("the printed link works once: opened again, the page says so in place and takes the pasted token", async ({ page }) => {
  await page.goto(server.url);
  await expect(page.getByRole("alert")).toHaveText(/this sign-in link was used already/);
  await page.getByLabel("Token").fill("wrong");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText(/invalid token/);
  await page.getByLabel("Token").fill(server.token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Images" })).toBeVisible();
});

test("the session cookie reaches no other local server, on any port or loopback name", async ({ page }) => {
  const seen: string[] = [];
  const other = http.createServer((req, res) => {
    if (req.url === "/") seen.push(req.headers.cookie ?? ""); // not the favicon
    res.end("<html><body>another local server</body></html>");
  });
  const port = await listen(other);
  try {
    await signInWithToken(page, server);
    await expect(page.getByRole("heading", { name: "Images" })).toBeVisible(); // signed in
    for (const origin of [`http://127.0.0.1:${port}`, `http://localhost:${port}`]) {
      await page.goto(`${origin}/`);
      await expect(page.getByText("another local server")).toBeVisible();
    }
    expect(seen).toHaveLength(2);
    for (const cookie of seen) expect(cookie).not.toMatch(/bootc_session/);
    // Even this server's own port, reached as 127.0.0.1, gets no session: it is not the console's name.
    const r = await page.goto(`${server.origin}/`);
    expect(r?.status()).toBe(401);
  } finally {
    other.close();
  }
});

test("a server on another port of the console's own name gets the cookie (cookies ignore ports), and the cookie alone opens nothing", async ({ page }) => {
  const seen: string[] = [];
  const guest = http.createServer((req, res) => {
    if (req.url === "/") seen.push(req.headers.cookie ?? "");
    res.end("<html><body>a guest's web server</body></html>");
  });
  const port = await listen(guest);
  try {
    await signInWithToken(page, server);
    await expect(page.getByRole("heading", { name: "Images" })).toBeVisible();
    // The user edits only the port, to look at a guest's web server forwarded there.
    const consoleHost = new URL(server.consoleOrigin).hostname;
    await page.goto(`http://${consoleHost}:${port}/`);
    await expect(page.getByText("a guest's web server")).toBeVisible();
    const cookie = /bootc_session_\d+=[^;\s]+/.exec(seen.join("; "))?.[0];
    expect(cookie, "the browser sent the console's cookie to the other port").toBeTruthy();
    // What that server can do with it: replay it with every header a browser would send.
    const replay = {
      Host: new URL(server.consoleOrigin).host,
      Origin: server.consoleOrigin,
      Cookie: cookie!,
      "Sec-Fetch-Site": "same-origin",
      "Sec-Fetch-Mode": "cors",
    };
    expect((await rawRequest(server.port, "/api/trpc/vms.list", { headers: replay })).status).toBe(401);
    expect(
      (
        await rawRequest(server.port, "/api/trpc/vms.stop", {
          method: "POST",
          body: '{"name":"x"}',
          headers: { ...replay, "Content-Type": "application/json" },
        })
      ).status,
    ).toBe(401);
    const upgrade = await rawRequest(server.port, "/api/term/serial/x", {
      headers: { ...replay, Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==" },
    });
    expect(upgrade.status).toBe(401);
    // The console itself still works in that browser: its pages' calls carry the key.
    await page.goto(`${server.consoleOrigin}/vms`);
    await expect(page.getByRole("heading", { name: "No virtual machines" })).toBeVisible();
    // A terminal socket from the console's page opens with the key the page keeps, not without it.
    const terminal = (withKey: boolean) =>
      page.evaluate(
        (withKey) =>
          new Promise<string>((resolve) => {
            const key = encodeURIComponent(localStorage.getItem("bootc-session-key") ?? "");
            const ws = new WebSocket(`ws://${location.host}/api/term/serial/no-such-vm${withKey ? `?sessionKey=${key}` : ""}`);
            ws.onopen = () => (resolve("opened"), ws.close());
            ws.onerror = () => resolve("refused");
          }),
        withKey,
      );
    expect(await terminal(false)).toBe("refused");
    expect(await terminal(true)).toBe("opened");
  } finally {
    guest.close();
  }
});

test("through an SSH-style tunnel (another port forwarding to the server), sign-in moves to the console's name on that port", async ({ browser }) => {
  const tunnel = net.createServer((c) => {
    const up = net.connect(server.port, "127.0.0.1");
    c.pipe(up).pipe(c);
    c.on("error", () => up.destroy());
    up.on("error", () => c.destroy());
  });
  const port = await listen(tunnel);
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`http://localhost:${port}/signin`);
    await expect(page).toHaveURL(new RegExp(`^http://bootc-[0-9a-f]+\\.localhost:${port}/signin$`));
    await page.getByLabel("Token").fill(server.token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(new RegExp(`^http://bootc-[0-9a-f]+\\.localhost:${port}/$`));
    await expect(page.getByRole("heading", { name: "Images" })).toBeVisible();
  } finally {
    await context.close();
    tunnel.close();
  }
});

test("revoking sessions signs the browser out", async ({ browser }) => {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await signInWithToken(page, server);
    await expect(page.getByRole("heading", { name: "Images" })).toBeVisible();
    const revoked = await fetch(`${server.origin}/api/trpc/session.revokeAll`, {
      method: "POST",
      headers: { Authorization: `Bearer ${server.token}`, "Content-Type": "application/json" },
    });
    expect(revoked.status, await revoked.clone().text()).toBe(200);
    // The open page notices at its next API call and goes to sign-in; the cookie opens nothing now.
    await expect(page).toHaveURL(/\/signin\?next=/, { timeout: 15_000 });
    const cookie = (await context.cookies(server.consoleOrigin)).map((c) => `${c.name}=${c.value}`).join("; ");
    expect(cookie).not.toBe("");
    const again = await rawRequest(server.port, "/", { headers: { Host: new URL(server.consoleOrigin).host, Cookie: cookie } });
    expect(again.status).toBe(401);
  } finally {
    await context.close();
  }
});
