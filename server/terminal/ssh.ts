/**
 * An SSH shell over a websocket: each connection is its own ssh2 session with a pty
 * (xterm-256color), resized through window-change, and the VM's pinned host key checked
 * — a guest presenting any other key is refused.
 */
import { readFile } from "node:fs/promises";
import type { ClientChannel } from "ssh2";
import type { Engine } from "../../engine/vm/manager.js";
import { pinnedHostKey } from "../../engine/ssh/hostkey.js";
import { isBootcError } from "../../engine/core/errors.js";
import type { TerminalConnection } from "./connection.js";

export async function serveSsh(conn: TerminalConnection, engine: Engine, name: string, size: { cols: number; rows: number }): Promise<void> {
  conn.control({ type: "status", state: "connecting" });
  let target, privateKey, pinned;
  try {
    target = await engine.sshTarget(name);
    privateKey = await readFile(target.identity);
    pinned = await pinnedHostKey(target.knownHosts);
  } catch (e) {
    return conn.fail(isBootcError(e) ? e.message : `cannot reach ${name} over SSH`);
  }
  if (!pinned) return conn.fail(`no host key is pinned for ${name} yet: wait until it is ssh-ready`);
  // A VM on a remote libvirt host is reached through that host (an ssh -W stream).
  let via;
  try {
    via = target.openStream ? await target.openStream() : undefined;
  } catch (e) {
    return conn.fail(isBootcError(e) ? e.message : `cannot reach ${name}'s host over SSH`);
  }
  const { Client } = await import("ssh2");
  const client = new Client();
  client.on("close", () => via?.close());
  let channel: ClientChannel | undefined;
  conn.attach({
    write: (d) => channel?.write(d),
    resize: (cols, rows) => channel?.setWindow(rows, cols, 0, 0),
    pause: () => channel?.pause(),
    resume: () => channel?.resume(),
    close: () => client.end(),
  });
  client.on("error", (e) => conn.fail(`SSH to ${name} failed: ${e.message}`));
  client.on("ready", () => {
    client.shell({ term: "xterm-256color", cols: size.cols, rows: size.rows }, (err, ch) => {
      if (err) return conn.fail(`cannot open a shell on ${name}: ${err.message}`);
      channel = ch;
      conn.control({ type: "status", state: "connected" });
      const out = (d: Buffer) => conn.output(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
      ch.on("data", out);
      ch.stderr.on("data", out);
      ch.on("close", () => conn.finish("the SSH session ended"));
    });
  });
  client.connect({
    ...(via ? { sock: via.stream as never } : { host: "127.0.0.1", port: target.port }),
    username: target.user,
    privateKey,
    readyTimeout: 30_000,
    keepaliveInterval: 15_000,
    hostVerifier: (key: Buffer) => pinned.equals(key),
  });
}
