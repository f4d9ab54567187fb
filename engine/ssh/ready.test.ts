/**
 * waitForSsh against a real SSH server (ssh2's) behind a stand-in for passt: a loopback port
 * that accepts every connection at once and, like passt whose SYN the guest never saw, says
 * nothing on the connections that came before the "guest" was up.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, connect, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import ssh2 from "ssh2";
import { waitForSsh } from "./ready.js";
import { pinnedHostKey } from "./hostkey.js";

const { Server, utils } = ssh2;

/** An SSH server that accepts any public key and runs every command as a success, after `delayMs`. */
function sshServer(delayMs = 0): Promise<{ port: number; close: () => void }> {
  const hostKey = utils.generateKeyPairSync("ed25519").private;
  const server = new Server({ hostKeys: [hostKey] }, (client) => {
    client.on("error", () => undefined);
    client.on("authentication", (ctx) => (ctx.method === "publickey" ? ctx.accept() : ctx.reject(["publickey"])));
    client.on("session", (accept) => {
      accept().once("exec", (acceptExec) => {
        const stream = acceptExec();
        setTimeout(() => {
          stream.exit(0);
          stream.end();
        }, delayMs).unref();
      });
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ port: (server.address() as AddressInfo).port, close: () => server.close() })));
}

/** passt's side: connections before up() are held and never answered; later ones reach the server. */
function forwarder(
  target: number,
): Promise<{ port: number; up: () => void; held: Socket[]; mostHeldAtOnce: () => number; reached: () => number; close: () => void }> {
  const held: Socket[] = [];
  let isUp = false;
  let reached = 0;
  let heldNow = 0;
  let mostHeldAtOnce = 0;
  const server: NetServer = createServer((c) => {
    c.on("error", () => undefined);
    if (!isUp) {
      mostHeldAtOnce = Math.max(mostHeldAtOnce, ++heldNow);
      c.on("close", () => heldNow--);
      // Read (nothing comes) so that the client's end of the connection is seen.
      return void held.push(c.resume());
    }
    reached++;
    const s = connect(target, "127.0.0.1");
    s.on("error", () => c.destroy());
    c.pipe(s).pipe(c);
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () =>
      resolve({
        port: (server.address() as AddressInfo).port,
        up: () => (isUp = true),
        held,
        mostHeldAtOnce: () => mostHeldAtOnce,
        reached: () => reached,
        close: () => {
          held.forEach((c) => c.destroy());
          server.close();
        },
      }),
    ),
  );
}

function target(port: number) {
  const dir = mkdtempSync(join(tmpdir(), "bootc-ready-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const identity = join(dir, "id_ed25519");
  writeFileSync(identity, utils.generateKeyPairSync("ed25519").private, { mode: 0o600 });
  return { vmName: "probe", port, user: "root", identity, knownHosts: join(dir, "known_hosts") };
}

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

describe("waitForSsh", () => {
  it("does not wait out a connection the guest never answered: the next probe starts beside it, and the held ones are closed once SSH answers", async () => {
    const ssh = await sshServer();
    const passt = await forwarder(ssh.port);
    cleanups.push(ssh.close, passt.close);
    const t = target(passt.port);
    setTimeout(passt.up, 1500);
    const outcome = await waitForSsh(t, { timeoutMs: 60_000, intervalMs: 200, check: () => "probe" });
    expect(outcome).toBe("ready");
    // The probes made before the "guest" was up are still unanswered: with one probe at a
    // time, the first would have had to time out (10 s) before any other could start.
    expect(passt.held.length).toBeGreaterThan(1);
    expect(passt.reached()).toBe(1);
    expect(await pinnedHostKey(t.knownHosts)).toBeDefined();
    // None is left open by the wait.
    await new Promise((r) => setTimeout(r, 100));
    expect(passt.held.every((c) => c.readableEnded)).toBe(true);
  });

  it("waits for a probe the guest is answering rather than opening more sessions beside it", async () => {
    const ssh = await sshServer(1500);
    const passt = await forwarder(ssh.port);
    passt.up();
    cleanups.push(ssh.close, passt.close);
    const outcome = await waitForSsh(target(passt.port), { timeoutMs: 60_000, intervalMs: 100, check: () => "probe" });
    expect(outcome).toBe("ready");
    expect(passt.reached()).toBe(1);
  });

  it("a probe the guest is answering at the deadline gets its own time to finish", async () => {
    const ssh = await sshServer(1500);
    const passt = await forwarder(ssh.port);
    passt.up();
    cleanups.push(ssh.close, passt.close);
    expect(await waitForSsh(target(passt.port), { timeoutMs: 500, intervalMs: 100, check: () => "probe" })).toBe("ready");
  });

  it("keeps at most three silent probes open, the first to its timeout (an sshd slow to send its banner would answer it)", async () => {
    const passt = await forwarder(1);
    cleanups.push(passt.close);
    expect(await waitForSsh(target(passt.port), { timeoutMs: 2000, intervalMs: 100, check: () => "probe" })).toBe("timeout");
    // When the wait returned, the first was still open (it would have had its 10 s) and those
    // replaced since had ended; the wait's end closes the rest.
    const [first, ...later] = passt.held;
    expect(first!.readableEnded).toBe(false);
    expect(later.length).toBeGreaterThan(4);
    expect(later.slice(0, -2).every((c) => c.readableEnded)).toBe(true);
    expect(passt.mostHeldAtOnce()).toBe(3);
    await new Promise((r) => setTimeout(r, 100));
    expect(passt.held.every((c) => c.readableEnded)).toBe(true);
  });

  // The stop is heard at the next check, not after a silent probe's 10 s.
  it("says stopped, not ready, when the VM ends while a probe is open; and timeout when nothing answers", { timeout: 8000 }, async () => {
    const passt = await forwarder(1);
    cleanups.push(passt.close);
    let checks = 0;
    expect(await waitForSsh(target(passt.port), { timeoutMs: 60_000, intervalMs: 100, check: () => (++checks > 3 ? "stop" : "probe") })).toBe("stopped");
    expect(await waitForSsh(target(passt.port), { timeoutMs: 500, intervalMs: 100, check: () => "probe" })).toBe("timeout");
    await new Promise((r) => setTimeout(r, 100));
    expect(passt.held.length).toBeGreaterThan(1);
    expect(passt.held.every((c) => c.readableEnded)).toBe(true);
  });
});
