/**
 * `bootc serve` end to end: the request-safety gate on every route, then a real guest
 * driven through the API the way a script would — tRPC calls with a bearer token, events
 * over server-sent events, serial and SSH consoles over the terminal websockets.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import http from "node:http";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, DEMO_IMAGE, makeHome, tempDir, watchImageMounts, processesUsing, waitUntil } from "./lib/harness.js";
import { api, ApiError, client, rawRequest, serve, signIn as signInAs, Terminal, type Served } from "./lib/api.js";

const home = makeHome();
const mounts = await watchImageMounts("server.e2e.ts");
let server: Served;
let log = "";

beforeAll(async () => {
  server = await serve(home);
  server.process.stdout?.on("data", (d: Buffer) => (log += d.toString()));
  server.process.stderr?.on("data", (d: Buffer) => (log += d.toString()));
});

afterAll(async () => {
  await client(server)
    .vms.remove.mutate({ name: "api", force: true })
    .catch(() => undefined);
  await server.stop();
});

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${server.origin}${path}`, { headers, redirect: "manual" });
const consoleHost = () => new URL(server.consoleOrigin).host;

const raw = (path: string, opts: Parameters<typeof rawRequest>[2], port = server.port) => rawRequest(port, path, opts);

/** The status a websocket upgrade gets (101: accepted, then closed here). */
const upgrade = (path: string, headers: Record<string, string> = {}) =>
  new Promise<number>((resolve, reject) => {
    const req = http.request({
      host: "127.0.0.1",
      port: server.port,
      path,
      headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", ...headers },
    });
    req.on("response", (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", reject);
    req.end();
  });

/** The status of a response that may stream for ever (server-sent events): read the head, then hang up. */
const statusOf = (path: string, headers: Record<string, string>) =>
  new Promise<number>((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port: server.port, path, headers }, (res) => {
        resolve(res.statusCode ?? 0);
        res.destroy();
      })
      .on("error", reject);
  });
const bearer = () => ({ Authorization: `Bearer ${server.token}` });

describe("the request gate", () => {
  const routes = ["/", "/api/trpc/vms.list", "/api/trpc/images.list", "/_next/static/chunks/main.js", "/api/term/serial/x"];

  it("refuses every route without a token", async () => {
    for (const path of routes) expect((await get(path)).status, path).toBe(401);
    const post = await fetch(`${server.origin}/api/trpc/vms.run`, {
      method: "POST",
      body: JSON.stringify({ image: DEMO_IMAGE }),
      headers: { "Content-Type": "application/json" },
    });
    expect(post.status).toBe(401);
  });

  it("refuses a non-local Host even with the token (DNS rebinding)", async () => {
    // fetch() may not set Host; a raw request can, as a rebinding browser's would carry it.
    const status = (path: string) =>
      new Promise<number>((resolve, reject) => {
        http
          .get({ host: "127.0.0.1", port: server.port, path, headers: { ...bearer(), Host: `evil.example:${server.port}` } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
          .on("error", reject);
      });
    for (const path of routes) expect(await status(path), path).toBe(421);
    expect(
      await status("/api/trpc/vms.list")
        .then(() => get("/api/trpc/vms.list", bearer()))
        .then((r) => r.status),
    ).toBe(200);
  });

  it("parses Host strictly: a hostile one gets 400 or 421, never 500 and never the API, on requests and websocket upgrades", async () => {
    /** The status line of a request sent byte for byte (no client library would send these Hosts). */
    const rawStatus = (host: string, asUpgrade: boolean) =>
      new Promise<number>((resolve, reject) => {
        const c = net.connect(server.port, "127.0.0.1");
        let got = "";
        c.on("data", (d: Buffer) => (got += d.toString("latin1")));
        c.on("close", () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(got)?.[1] ?? 0)));
        c.on("error", reject);
        const ws = asUpgrade
          ? "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          : "Connection: close\r\n";
        c.write(
          `GET ${asUpgrade ? "/api/term/serial/x" : "/api/trpc/vms.list"} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${server.token}\r\nOrigin: http://${host}\r\n${ws}\r\n`,
        );
      });
    const hostile: Array<[string, number]> = [
      ["evil.com#.localhost", 400],
      [`evil.com#.localhost:${server.port}`, 400],
      ["evil.com\\.localhost", 400],
      [`localhost:${server.port}@evil.example`, 400],
      ["localhost:abc", 400],
      ["localhost:99999", 400],
      ["localhost:1:2", 400],
      ["a b.localhost", 400],
      ["[::1", 400],
      ["localhost.", 400],
      ["", 400],
      [`x.localhost/evil:${server.port}`, 400],
      [`evil.example:${server.port}`, 421],
      ["[::2]:1", 421],
      [`other.localhost:${server.port}`, 421],
    ];
    for (const [host, expected] of hostile) {
      expect(await rawStatus(host, false), `${JSON.stringify(host)} request`).toBe(expected);
      expect(await rawStatus(host, true), `${JSON.stringify(host)} upgrade`).toBe(expected);
    }
    expect(await rawStatus(`LOCALHOST:${server.port}`, false)).toBe(200);
  });

  it("refuses mutations from a foreign Origin (CSRF), with a session or bearer", async () => {
    const { cookie, key } = await signInAs(server);
    for (const auth of [{ Cookie: cookie, "X-Bootc-Session-Key": key }, bearer()]) {
      const r = await raw("/api/trpc/vms.stop", {
        method: "POST",
        body: JSON.stringify({ name: "x" }),
        headers: { ...auth, Host: consoleHost(), Origin: "http://evil.example", "Content-Type": "application/json" },
      });
      expect(r.status).toBe(403);
    }
    // A session without any Origin is not enough for a mutation either.
    const noOrigin = await raw("/api/trpc/vms.stop", {
      method: "POST",
      body: "{}",
      headers: { Cookie: cookie, "X-Bootc-Session-Key": key, Host: consoleHost() },
    });
    expect(noOrigin.status).toBe(403);
  });

  it("signs in on the console's own name: a ?token= link moves there with a one-time code instead of the token", async () => {
    const r = await get(`/vms?token=${server.token}`);
    expect(r.status).toBe(303);
    const location = r.headers.get("location")!;
    expect(location).toMatch(new RegExp(`^${server.consoleOrigin}/signin\\?next=%2Fvms#code=[A-Za-z0-9_-]{32}$`));
    expect(location).not.toContain(server.token);
    expect(r.headers.get("set-cookie")).toBeNull();
    // The code signs in once.
    const code = location.split("#code=")[1]!;
    const post = () =>
      raw("/api/session", {
        method: "POST",
        body: JSON.stringify({ code }),
        headers: { Host: consoleHost(), Origin: server.consoleOrigin, "Content-Type": "application/json" },
      });
    expect((await post()).status).toBe(200);
    const again = await post();
    expect(again.status).toBe(401);
    expect(again.body).toMatch(/this sign-in link was used already/);
    expect((await get(`/?token=wrong`)).status).toBe(401);
    // The sign-in page on another loopback name sends the browser to the console's name.
    const elsewhere = await get("/signin?next=%2Fvms");
    expect(elsewhere.status).toBe(303);
    expect(elsewhere.headers.get("location")).toBe(`${server.consoleOrigin}/signin?next=%2Fvms`);
  });

  it("trades the token for a session cookie that is not the token, only on the console's name and origin", async () => {
    const post = (headers: Record<string, string>, token = server.token) =>
      raw("/api/session", { method: "POST", body: JSON.stringify({ token, next: "/vms" }), headers: { "Content-Type": "application/json", ...headers } });
    const ok = await post({ Host: consoleHost(), Origin: server.consoleOrigin });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ next: "/vms", key: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    const setCookie = String(ok.headers["set-cookie"]);
    expect(setCookie).toMatch(new RegExp(`^bootc_session_${server.port}=[^;]+; HttpOnly; SameSite=Strict; Path=/$`));
    expect(setCookie).not.toContain(server.token);
    const cookie = setCookie.split(";")[0]!;
    expect((await raw("/", { headers: { Cookie: cookie, Host: consoleHost() } })).status).toBe(200);
    expect((await post({ Host: `127.0.0.1:${server.port}`, Origin: server.origin })).status).toBe(403);
    expect((await post({ Host: consoleHost(), Origin: "http://evil.example" })).status).toBe(403);
    expect((await post({ Host: consoleHost(), Origin: server.consoleOrigin }, "wrong")).status).toBe(401);
    // A body that is JSON but not an object is a 400, as one that is not JSON (null used to give 500).
    for (const body of ["null", "42", '"x"', "{", ""]) {
      const r = await raw("/api/session", {
        method: "POST",
        body,
        headers: { "Content-Type": "application/json", Host: consoleHost(), Origin: server.consoleOrigin },
      });
      expect(r.status, body).toBe(400);
    }
  });

  it("a session cookie alone opens no API call, event stream or terminal: they need the page's key too (cookies reach every port of the console's name)", async () => {
    const { cookie, key, headers } = await signInAs(server);
    // All a browser would send from the console's page, and a replay could forge — but the key.
    const cookieOnly = { Host: consoleHost(), Origin: server.consoleOrigin, Cookie: cookie, "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors" };
    const stop = (h: Record<string, string>, query = "") =>
      raw(`/api/trpc/vms.stop${query}`, {
        method: "POST",
        body: JSON.stringify({ name: "no-such-vm" }),
        headers: { ...h, "Content-Type": "application/json" },
      });
    expect((await raw("/", { headers: cookieOnly })).status).toBe(200); // pages: they carry no data
    expect((await raw("/api/trpc/vms.list", { headers: cookieOnly })).status).toBe(401);
    expect(await statusOf("/api/trpc/vms.changes", cookieOnly)).toBe(401);
    expect((await stop(cookieOnly)).status).toBe(401);
    expect(await upgrade("/api/term/serial/no-such-vm", cookieOnly)).toBe(401);
    // Another session's key, or this key on a POST's query (only EventSource and WebSocket need it there), open nothing either.
    const other = await signInAs(server);
    expect((await raw("/api/trpc/vms.list", { headers: { ...cookieOnly, "X-Bootc-Session-Key": other.key } })).status).toBe(401);
    expect((await stop(cookieOnly, `?sessionKey=${key}`)).status).toBe(401);
    // With its key, as the console's pages send it: a header on fetches, the query for event streams and terminals.
    expect((await raw("/api/trpc/vms.list", { headers })).status).toBe(200);
    expect((await stop(headers)).status).toBe(404); // through the gate: the VM does not exist
    expect(await statusOf(`/api/trpc/vms.changes?sessionKey=${key}`, cookieOnly)).toBe(200);
    expect(await upgrade(`/api/term/serial/no-such-vm?sessionKey=${key}`, cookieOnly)).toBe(101);
  });

  it("ignores a cookie that does not decode, before and after authentication (it used to answer 500, or end an --api-only server)", async () => {
    const apiOnly = await serve(home, ["--api-only"]);
    try {
      for (const target of [server, apiOnly]) {
        const headers = (extra: Record<string, string>) => ({ Host: `127.0.0.1:${target.port}`, Cookie: "x=%; y=%E0%A4%A", ...extra });
        expect((await raw("/", { headers: headers({}) }, target.port)).status).toBe(401);
        expect((await raw("/api/trpc/vms.list", { headers: headers({ Authorization: `Bearer ${target.token}` }) }, target.port)).status).toBe(200);
      }
      expect(apiOnly.process.exitCode).toBeNull();
    } finally {
      await apiOnly.stop();
    }
  });

  it("opens a browser without putting the token on a command line (other users can read /proc)", async () => {
    // A stand-in for xdg-open that records what it was given.
    const bin = tempDir("bce-opener-");
    const seen = path.join(bin, "seen");
    writeFileSync(path.join(bin, "xdg-open"), `#!/bin/sh\nprintf '%s\\n' "$@" > ${seen}.args\ncp "$1" ${seen}.page\nstat -c %a "$1" > ${seen}.mode\n`, {
      mode: 0o755,
    });
    const child = execa(process.execPath, [CLI, "serve", "--port", "0", "--api-only"], {
      env: { ...process.env, BOOTC_HOME: home, DISPLAY: ":99", PATH: `${bin}:${process.env.PATH}` },
      reject: false,
      buffer: false,
    });
    try {
      let out = "";
      child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
      const token = await waitUntil("the token", () => /Token: (\S+)/.exec(out)?.[1], 30_000, 100);
      const args = await waitUntil("the opener to run", () => (existsSync(`${seen}.mode`) ? readFileSync(`${seen}.args`, "utf8") : undefined), 30_000, 100);
      expect(args).not.toContain(token);
      expect(readFileSync(`${seen}.mode`, "utf8").trim()).toBe("600");
      expect(readFileSync(`${seen}.page`, "utf8")).toMatch(/http-equiv="refresh" content="0;url=http:\/\/bootc-[0-9a-f]+\.localhost:\d+\/signin#code=/);
    } finally {
      child.kill("SIGTERM");
      await child;
    }
  });

  it("answers and closes unauthenticated websocket upgrades at once: thousands leave no descriptors behind", async () => {
    const fds = () => readdirSync(`/proc/${server.process.pid}/fd`).length;
    const before = fds();
    expect(await upgrade("/_next/webpack-hmr")).toBe(401);
    expect(await upgrade("/anything")).toBe(401);
    expect(await upgrade("/anything", bearer())).toBe(404);
    let refused = 0;
    for (let batch = 0; batch < 30; batch++) {
      const codes = await Promise.all(Array.from({ length: 100 }, (_, i) => upgrade(i % 2 ? "/_next/webpack-hmr" : `/x/${i}`)));
      refused += codes.filter((c) => c === 401).length;
    }
    expect(refused).toBe(3000);
    expect((await get("/api/trpc/vms.list", bearer())).status).toBe(200);
    const after = await waitUntil("descriptors to be released", () => (fds() <= before + 10 ? fds() : undefined), 10_000, 200);
    expect(after).toBeLessThanOrEqual(before + 10);
  });

  it("prints only its own lines on stdout, none of Next's, also once pages were served", async () => {
    expect((await get("/", bearer())).status).toBe(200);
    expect((await get("/vms", bearer())).status).toBe(200);
    const lines = server.output().trimEnd().split("\n");
    const ours = [
      /^bootc-console is listening on port \d+$/,
      /^Open: http:\/\/bootc-[0-9a-f]+\.localhost:\d+\/signin#code=\S+$/,
      /^ {6}\(the link signs one browser in; /,
      /^Token: \S+$/,
      /^API: http:\/\/127\.0\.0\.1:\d+\/api\/trpc with the header /,
      /^Stop with Ctrl\+C \(VMs keep running\)\.$/,
    ];
    expect(lines.length, server.output()).toBe(ours.length);
    lines.forEach((line, i) => expect(line).toMatch(ours[i]!));
  });

  it("sends a CSP that forbids framing", async () => {
    const r = await get("/", bearer());
    expect(r.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(r.headers.get("x-frame-options")).toBe("DENY");
  });

  it("refuses oversized request bodies", async () => {
    const r = await fetch(`${server.origin}/api/trpc/vms.run`, {
      method: "POST",
      body: "x".repeat(2 * 1024 * 1024),
      headers: { ...bearer(), "Content-Type": "application/json" },
    });
    expect(r.status).toBe(413);
  });

  it("refuses a websocket upgrade from a foreign Origin, without a token, or for a foreign Host", async () => {
    await expect(Terminal.open(server, "/api/term/serial/x", { origin: "http://evil.example" })).rejects.toMatchObject({ status: 403 });
    await expect(Terminal.open(server, "/api/term/serial/x", { token: null, origin: server.origin })).rejects.toMatchObject({ status: 401 });
  });

  it("validates input at the edge and maps engine errors with their message and hint", async () => {
    const bad = await api(server)
      .mutate("vms.run", { image: DEMO_IMAGE, name: "Bad Name" })
      .catch((e: ApiError) => e);
    expect(bad).toBeInstanceOf(ApiError);
    expect((bad as ApiError).status).toBe(400);
    const unknown = await api(server)
      .mutate("vms.run", { image: "no-such-image:1" })
      .catch((e: ApiError) => e);
    expect((unknown as ApiError).status).toBe(404);
    expect(JSON.stringify((unknown as ApiError).body)).toContain('image \\"no-such-image:1\\" is not in local storage');
    expect(JSON.stringify((unknown as ApiError).body)).toContain("IMAGE_NOT_FOUND");
  });
});

describe("a real guest through the API", () => {
  const client = () => api(server);
  let serialA: Terminal;

  it("boots the demo image and streams its events until ssh-ready", async () => {
    const created = await client().mutate<{ name: string; state: string }>("vms.run", { image: DEMO_IMAGE, name: "api", memoryMiB: 2048 });
    expect(created.name).toBe("api");
    const seen: string[] = [];
    await client().subscribe<{ type: string; state?: string; event?: string; record?: { state: string } }>("vms.watch", { name: "api" }, (e) => {
      seen.push(e.type === "timeline" ? e.event! : e.type === "state" ? e.state! : e.type);
      if (e.type === "state" && e.state === "failed") throw new Error(`boot failed: ${JSON.stringify(e)}`);
      return (e.type === "state" && e.state === "ssh-ready") || (e.type === "snapshot" && e.record?.state === "ssh-ready");
    });
    expect(seen).toContain("ssh-ready");
    const vms = await client().query<Array<{ name: string; effectiveState: string }>>("vms.list");
    expect(vms.find((v) => v.name === "api")?.effectiveState).toBe("ssh-ready");
  });

  it("serves the serial console: history first (marked), then live", async () => {
    serialA = await Terminal.open(server, "/api/term/serial/api", { origin: server.origin });
    await serialA.waitFor(/Debian GNU\/Linux/);
    await new Promise((r) => setTimeout(r, 500));
    expect(serialA.controls.map((c) => c.type)).toEqual(expect.arrayContaining(["replay-start", "replay-end"]));
    const log = await client().query<{ text: string }>("vms.logs", { name: "api" });
    expect(log.text).toContain("Debian GNU/Linux");
  });

  it("shows two serial viewers the same bytes", async () => {
    const serialB = await Terminal.open(server, "/api/term/serial/api");
    await serialB.waitFor(/Debian GNU\/Linux/);
    await new Promise((r) => setTimeout(r, 1000));
    const [a0, b0] = [serialA.output.length, serialB.output.length];
    serialA.send("\r");
    await serialB.waitFor(/login:[\s\S]*login:/);
    await new Promise((r) => setTimeout(r, 1500));
    expect(serialA.output.subarray(a0).toString()).toBe(serialB.output.subarray(b0).toString());
    expect(serialA.output.subarray(a0).toString()).toMatch(/login:/);
    serialB.close();
  });

  it("opens an SSH shell: runs a command and follows a resize", async () => {
    const ssh = await Terminal.open(server, "/api/term/ssh/api?cols=80&rows=24");
    await ssh.waitFor(/[#$] $/m, 60_000);
    ssh.send("echo hello\n");
    await ssh.waitFor(/^hello\r?$/m);
    ssh.resize(100, 30);
    await new Promise((r) => setTimeout(r, 500));
    ssh.send("stty size\n");
    await ssh.waitFor(/^30 100\r?$/m);
    ssh.close();
  });

  it("keeps server memory bounded when a viewer never acknowledges output", async () => {
    const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.process.pid}/status`, "utf8"))?.[1]) * 1024;
    const stalled = await Terminal.open(server, "/api/term/ssh/api", { autoAck: false });
    await stalled.waitFor(/[#$] $/m, 60_000);
    const before = rss();
    // 200 MB of output from the guest, to a viewer that acknowledges nothing.
    stalled.send("head -c 200000000 /dev/zero | tr '\\0' x\n");
    await new Promise((r) => setTimeout(r, 20_000));
    const received = stalled.output.length;
    const growth = rss() - before;
    console.log(`stalled viewer: received ${(received / 1024).toFixed(0)} KiB, server RSS grew ${(growth / 2 ** 20).toFixed(1)} MiB`);
    expect(received).toBeLessThan(2 * 1024 * 1024); // the high watermark (512 KiB) plus frames in flight
    expect(growth).toBeLessThan(64 * 2 ** 20);
    stalled.close();
  });

  it("finds the VM again after the server restarts", async () => {
    await server.stop();
    server = await serve(home);
    const vms = await client().query<Array<{ name: string; effectiveState: string }>>("vms.list");
    expect(vms.find((v) => v.name === "api")?.effectiveState).toBe("ssh-ready");
    serialA = await Terminal.open(server, "/api/term/serial/api");
    await serialA.waitFor(/login:/);
  });

  it("never puts a secret in an API response or a log line", async () => {
    const body = JSON.stringify(await client().query("vms.list"));
    expect(body).not.toContain("PRIVATE KEY");
    expect(body).not.toContain(server.token);
    expect(log.split(server.token).length - 1).toBeLessThanOrEqual(1); // only the printed sign-in URL
  });

  it("stops the VM; the console viewer is told why", async () => {
    const stopped = await client().mutate<{ effectiveState: string; reason: string }>("vms.stop", { name: "api", timeoutSec: 120 });
    expect(stopped.effectiveState).toBe("stopped");
    await waitUntil("the viewer's exit message", () => serialA.controls.some((c) => c.type === "exit") || undefined, 15_000, 200).catch(() => undefined);
    expect(serialA.controls).toContainEqual({ type: "exit", reason: "VM api stopped: stopped by the user" });
  });

  it("removes the VM and leaves nothing behind", async () => {
    await client().mutate("vms.remove", { name: "api" });
    expect(await client().query("vms.list")).toEqual([]);
    expect(processesUsing(home).filter((p) => !p.cmd.includes("serve"))).toEqual([]);
    expect(await mounts.left()).toEqual([]);
  });
});
