/**
 * Running a command in a guest over SSH with ssh2 (no ssh client needed). The host key
 * must match the pinned one; with `learn`, an unpinned key is accepted and pinned (only the
 * monitor learns: its probes after a boot or a reboot, and its first connection after a
 * snapshot is loaded).
 */
import { readFile } from "node:fs/promises";
import { connect } from "node:net";
import type { Duplex, Writable } from "node:stream";
import type { ClientChannel } from "ssh2";
import { pinHostKey, pinnedHostKey } from "./hostkey.js";

export interface SshTarget {
  vmName: string;
  port: number;
  user: string;
  identity: string;
  knownHosts: string;
  /**
   * The port is on another host's loopback (a remote libvirt host): this opens a stream to
   * it (an SSH tunnel), which the connection uses instead of 127.0.0.1, and closes after.
   */
  openStream?: () => Promise<{ stream: Duplex; close: () => void }>;
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** How a streamed command ended: its exit code, the signal that killed it, or the connection lost before either. */
export interface RunResult {
  code: number | null;
  signal?: string;
  /** The connection ended without an exit status (the guest powered off or went away). */
  lost: boolean;
}

/**
 * Connects, checking the host key, and runs `command`; `use` gets the channel and says
 * how to finish. The connection ends when the channel closes.
 */
async function withChannel<T>(
  t: SshTarget,
  command: string,
  opts: { learn?: boolean; timeoutMs?: number; keepalive?: boolean; onAnswer?: () => void; signal?: AbortSignal },
  use: (stream: ClientChannel, finish: (r: T) => void) => void,
): Promise<T> {
  opts.signal?.throwIfAborted();
  const privateKey = await readFile(t.identity);
  const pinned = await pinnedHostKey(t.knownHosts);
  let seenKey: Buffer | undefined;
  const { Client } = await import("ssh2");
  const conn = new Client();
  const via = t.openStream ? await t.openStream() : undefined;
  // onAnswer: our own socket rather than ssh2's, to hear the guest's first byte (sshd's banner).
  // ssh2 listens for its errors once it has taken it, below; until then one must not go unheard.
  const sock = opts.onAnswer && !via ? connect({ host: "127.0.0.1", port: t.port }) : undefined;
  sock?.on("error", () => undefined);
  if (opts.onAnswer) sock?.once("data", opts.onAnswer);
  return new Promise<T>((resolve, reject) => {
    const timer = opts.timeoutMs ? setTimeout(() => done(new Error("ssh timed out")), opts.timeoutMs) : undefined;
    const onAbort = () => done(new Error("the command was abandoned"));
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    let settled = false;
    const done = (err: Error | undefined, r?: T) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      conn.end();
      sock?.destroy();
      via?.close();
      if (err) reject(err);
      else resolve(r!);
    };
    // Aborted while the key, the pinned host key or a tunnel were being read: the listener came too late to hear it.
    if (opts.signal?.aborted) return onAbort();
    conn.on("error", (e) => done(e));
    // Closed before the command's channel was (no-op once finished).
    conn.on("close", () => done(new Error("the SSH connection closed")));
    conn.on("ready", () => {
      conn.exec(command, (err, stream) => {
        if (err) return done(err);
        use(stream, (r) => {
          void (async () => {
            if (!pinned && seenKey && opts.learn) await pinHostKey(t.knownHosts, t.vmName, seenKey);
            done(undefined, r);
          })();
        });
      });
    });
    conn.connect({
      ...(via ? { sock: via.stream as never } : sock ? { sock } : { host: "127.0.0.1", port: t.port }),
      username: t.user,
      privateKey,
      readyTimeout: opts.timeoutMs ?? 15_000,
      // A guest that powers off mid-command is noticed within seconds, not at TCP's pace.
      ...(opts.keepalive ? { keepaliveInterval: 5_000, keepaliveCountMax: 3 } : {}),
      hostVerifier: (key: Buffer) => {
        seenKey = key;
        return pinned ? pinned.equals(key) : !!opts.learn;
      },
    });
  });
}

export async function sshExec(
  t: SshTarget,
  command: string,
  opts: {
    learn?: boolean;
    timeoutMs?: number;
    /** The guest sent its first byte (a readiness probe's "it is answering"). */
    onAnswer?: () => void;
    /** Abandons the command: the connection is closed and the call rejects. */
    signal?: AbortSignal;
  } = {},
): Promise<ExecResult> {
  return withChannel<ExecResult>(t, command, { ...opts, timeoutMs: opts.timeoutMs ?? 15_000 }, (stream, finish) => {
    let stdout = "";
    let stderr = "";
    let code: number | null = null;
    stream.on("data", (d: Buffer) => (stdout += d.toString()));
    stream.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    stream.on("exit", (c: number | null) => (code = c));
    stream.on("close", () => finish({ code, stdout, stderr }));
  });
}

/**
 * Runs `command` with its output streamed to `out` and `err` as it comes, for as long as
 * it takes. A lost connection (no exit status) is reported, not thrown: the caller decides
 * whether the guest powered off.
 */
export async function sshRun(t: SshTarget, command: string, out: Writable, err: Writable): Promise<RunResult> {
  return withChannel<RunResult>(t, command, { keepalive: true }, (stream, finish) => {
    let result: RunResult = { code: null, lost: true };
    stream.on("data", (d: Buffer) => out.write(d));
    stream.stderr.on("data", (d: Buffer) => err.write(d));
    stream.on("exit", (code: number | null, signal?: string) => (result = { code, ...(signal ? { signal } : {}), lost: false }));
    stream.on("close", () => finish(result));
  }).catch((e: Error & { level?: string }) => {
    // The connection dropped under the command (keepalive timeout, reset): no exit status.
    if (/keepalive|ECONNRESET|Not connected|closed/i.test(e.message) || e.level === "client-socket") return { code: null, lost: true };
    throw e;
  });
}
