/**
 * Running a command in a guest over SSH with ssh2 (no ssh client needed). The host key
 * must match the pinned one; with `learn`, an unpinned key is accepted and pinned (used
 * only by the monitor's first probe after boot).
 */
import { readFile } from "node:fs/promises";
import { Client } from "ssh2";
import { pinHostKey, pinnedHostKey } from "./hostkey.js";

export interface SshTarget {
  vmName: string;
  port: number;
  user: string;
  identity: string;
  knownHosts: string;
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export async function sshExec(t: SshTarget, command: string, opts: { learn?: boolean; timeoutMs?: number } = {}): Promise<ExecResult> {
  const privateKey = await readFile(t.identity);
  const pinned = await pinnedHostKey(t.knownHosts);
  let seenKey: Buffer | undefined;
  const conn = new Client();
  return new Promise<ExecResult>((resolve, reject) => {
    const timer = setTimeout(() => {
      conn.end();
      reject(new Error("ssh timed out"));
    }, opts.timeoutMs ?? 15_000);
    const done = (err: Error | undefined, r?: ExecResult) => {
      clearTimeout(timer);
      conn.end();
      if (err) reject(err);
      else resolve(r!);
    };
    conn.on("error", (e) => done(e));
    conn.on("ready", () => {
      conn.exec(command, (err, stream) => {
        if (err) return done(err);
        let stdout = "";
        let stderr = "";
        let code: number | null = null;
        stream.on("data", (d: Buffer) => (stdout += d.toString()));
        stream.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        stream.on("exit", (c: number | null) => (code = c));
        stream.on("close", async () => {
          if (!pinned && seenKey && opts.learn) await pinHostKey(t.knownHosts, t.vmName, seenKey);
          done(undefined, { code, stdout, stderr });
        });
      });
    });
    conn.connect({
      host: "127.0.0.1",
      port: t.port,
      username: t.user,
      privateKey,
      readyTimeout: opts.timeoutMs ?? 15_000,
      hostVerifier: (key: Buffer) => {
        seenKey = key;
        return pinned ? pinned.equals(key) : !!opts.learn;
      },
    });
  });
}
