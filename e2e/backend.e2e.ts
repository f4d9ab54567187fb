/**
 * bootc serve as the backend of other local tools: the API on a private unix socket
 * (its permissions are the access control, no token), the token in a private file, and
 * the API's version and machine-readable description.
 */
import { existsSync, lstatSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serve, type Served } from "./lib/api.js";
import { bootc, CLI, makeHome, tempDir, waitUntil } from "./lib/harness.js";

const home = makeHome();
const dir = tempDir("bce-backend-");
const socket = path.join(dir, "bootc.sock");
const tokenFile = path.join(dir, "token");
let server: Served;

/** A GET over the unix socket, as a local tool makes it: no token. */
function overSocket(pathname: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath: socket, path: pathname, headers }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

beforeAll(async () => {
  server = await serve(home, ["--api-only", "--socket", socket, "--token-file", tokenFile]);
});
afterAll(async () => {
  await server?.stop();
});

describe("bootc serve --socket and --token-file", () => {
  it("makes the socket and the token file readable by this user only", () => {
    const s = lstatSync(socket);
    expect(s.isSocket()).toBe(true);
    expect(s.mode & 0o777).toBe(0o600);
    expect(lstatSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(tokenFile, "utf8").trim()).toBe(server.token);
  });

  it("answers on the socket without a token, and on TCP only with one", async () => {
    const v = await overSocket("/api/trpc/meta.version");
    expect(v.status).toBe(200);
    expect(v.headers["x-bootc-api-version"]).toBe("1");
    expect(JSON.parse(v.body).result.data).toMatchObject({ api: 1, stable: expect.arrayContaining(["vms.run", "meta.describe"]) });
    expect((await overSocket("/api/trpc/vms.list")).status).toBe(200);
    expect((await fetch(`${server.origin}/api/trpc/vms.list`)).status).toBe(401);
    const withToken = await fetch(`${server.origin}/api/trpc/vms.list`, { headers: { Authorization: `Bearer ${readFileSync(tokenFile, "utf8").trim()}` } });
    expect(withToken.status).toBe(200);
  });

  it("serves only the API on the socket", async () => {
    expect((await overSocket("/signin")).status).toBe(404);
    expect((await overSocket("/")).status).toBe(404);
  });

  it("describes every procedure: kind, stability, and the JSON Schema of its input", async () => {
    const r = await fetch(`${server.origin}/api/trpc/meta.describe`, { headers: { Authorization: `Bearer ${server.token}` } });
    const d = (await r.json()).result.data as {
      api: number;
      procedures: Array<{ path: string; kind: string; stable: boolean; input?: { properties?: Record<string, unknown> } }>;
    };
    expect(d.api).toBe(1);
    const run = d.procedures.find((p) => p.path === "vms.run")!;
    expect(run).toMatchObject({ kind: "mutation", stable: true });
    expect(Object.keys(run.input?.properties ?? {})).toEqual(expect.arrayContaining(["image", "cloudInit", "password", "injectUserKey"]));
    expect(d.procedures.find((p) => p.path === "vms.watch")).toMatchObject({ kind: "subscription", stable: true });
    expect(d.procedures.find((p) => p.path === "disks.prune")).toMatchObject({ stable: false });
  });

  it("refuses a second server on a live socket, and a socket path that is a file", async () => {
    const second = await bootc(home, ["serve", "--api-only", "--no-open", "--socket", socket]);
    expect(second.exitCode).toBe(1);
    expect(String(second.stderr)).toContain(`another server already listens on ${socket}`);
    const file = path.join(dir, "plain-file");
    writeFileSync(file, "x");
    const onFile = await bootc(home, ["serve", "--api-only", "--no-open", "--socket", file]);
    expect(String(onFile.stderr)).toContain(`--socket ${file} exists and is not a socket`);
    expect(readFileSync(file, "utf8")).toBe("x");
    const noDir = await bootc(home, ["serve", "--api-only", "--no-open", "--token-file", "/nonexistent/dir/token"]);
    expect(noDir.exitCode).toBe(1);
    expect(String(noDir.stderr)).toMatch(/^error: cannot write the token file \/nonexistent\/dir\/token/m);
  });

  it("rewrites the token file when the token is rotated, and removes it and the socket when the server stops", async () => {
    const before = readFileSync(tokenFile, "utf8");
    await execa(process.execPath, [CLI, "serve", "--rotate"], {
      env: { ...process.env, BOOTC_HOME: home },
    });
    const after = await waitUntil(
      "a new token in the file",
      () => {
        const now = existsSync(tokenFile) ? readFileSync(tokenFile, "utf8") : before;
        return now !== before ? now : undefined;
      },
      10_000,
      100,
    );
    expect(after.trim()).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await server.stop();
    expect(existsSync(tokenFile)).toBe(false);
    expect(existsSync(socket)).toBe(false);
  });
});
