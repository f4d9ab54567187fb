import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sshExec } from "./exec.js";

// A real SSH server in this process (ssh2's), whose commands never finish until the client goes.
const dir = mkdtempSync(path.join(os.tmpdir(), "bce-sshexec-"));
const key = (name: string) => {
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, name)]);
  return path.join(dir, name);
};
let port = 0;
let closed = 0;
let server: { close: () => void } | undefined;

beforeAll(async () => {
  const { Server } = await import("ssh2");
  const hostKey = readFileSync(key("host"));
  const s = new Server({ hostKeys: [hostKey] }, (client) => {
    client.on("authentication", (ctx) => ctx.accept());
    client.on("session", (accept) => accept().on("exec", (acceptExec) => acceptExec().write("started\n")));
    client.on("close", () => closed++);
    client.on("error", () => undefined);
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  port = (s.address() as AddressInfo).port;
  server = s;
});
afterAll(() => {
  server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("sshExec", () => {
  it("abandons a command when its signal is aborted: the call rejects and the connection is closed", async () => {
    const target = { vmName: "t", port, user: "root", identity: key("client"), knownHosts: path.join(dir, "known_hosts") };
    const ac = new AbortController();
    const run = sshExec(target, "sleep forever", { learn: true, timeoutMs: 30_000, signal: ac.signal });
    await new Promise((r) => setTimeout(r, 500)); // connected, the command running
    const before = closed;
    const t0 = Date.now();
    ac.abort();
    await expect(run).rejects.toThrow("the command was abandoned");
    expect(Date.now() - t0).toBeLessThan(1000);
    await expect.poll(() => closed).toBe(before + 1);
    // An already aborted signal does no work at all.
    await expect(sshExec(target, "true", { learn: true, signal: ac.signal })).rejects.toThrow(/aborted/);
    expect(closed).toBe(before + 1);
  });

  it("abandons a command aborted while the connection was still being prepared (keys read), before any listener", async () => {
    const target = { vmName: "t", port, user: "root", identity: key("client2"), knownHosts: path.join(dir, "known_hosts") };
    const ac = new AbortController();
    const t0 = Date.now();
    const run = sshExec(target, "sleep forever", { learn: true, timeoutMs: 30_000, signal: ac.signal });
    ac.abort(); // the call is past its first check and reading the key
    await expect(run).rejects.toThrow("the command was abandoned");
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});
