/**
 * Serial console fan-out: every byte from the guest goes to the log file, a bounded
 * replay buffer (so a new viewer sees recent history) and each attached client.
 *
 * Everything here is bounded, because a guest can write without end: the log is rotated
 * (one previous file kept), and a viewer that stops reading is disconnected once its
 * unsent backlog passes a cap — it can attach again and gets the replay — so one stalled
 * viewer never grows the monitor's memory.
 */
import { closeSync, fstatSync, openSync, renameSync, writeSync } from "node:fs";
import type { Writable } from "node:stream";

export const REPLAY_BYTES = 256 * 1024;
export const VIEWER_BACKLOG_BYTES = 4 * 1024 * 1024;
export const LOG_BYTES = 32 * 1024 * 1024;

export class SerialFanout {
  private chunks: Buffer[] = [];
  private size = 0;
  private readonly clients = new Set<Writable>();
  private tail = "";

  private logged: number;
  /** Written synchronously: serial output is small, and rotation must know where each byte went. */
  private log: number;

  constructor(
    private readonly logFile: string,
    private readonly limit = REPLAY_BYTES,
    private readonly caps = { viewerBacklog: VIEWER_BACKLOG_BYTES, log: LOG_BYTES },
  ) {
    this.log = openSync(logFile, "a", 0o600);
    this.logged = fstatSync(this.log).size;
  }

  push(data: Buffer): void {
    if (this.logged + data.length > this.caps.log) this.rotateLog();
    try {
      writeSync(this.log, data);
    } catch {
      // a full disk must not end the console: viewers and the replay still get the bytes
    }
    this.logged += data.length;
    this.chunks.push(data);
    this.size += data.length;
    while (this.size > this.limit && this.chunks.length > 1) {
      this.size -= this.chunks.shift()!.length;
    }
    this.tail = (this.tail + data.toString("utf8")).slice(-4096);
    for (const c of this.clients) {
      if (c.writableLength > this.caps.viewerBacklog) {
        this.clients.delete(c);
        c.destroy(); // stalled: it reads nothing; attaching again starts from the replay
        continue;
      }
      c.write(data);
    }
  }

  private rotateLog(): void {
    closeSync(this.log);
    try {
      renameSync(this.logFile, `${this.logFile}.1`);
    } catch {
      // gone already: start afresh anyway
    }
    this.log = openSync(this.logFile, "a", 0o600);
    this.logged = 0;
  }

  /** Sends the replay buffer, then live output, to `client` until it closes. */
  attach(client: Writable): void {
    for (const chunk of this.chunks) client.write(chunk);
    this.clients.add(client);
    client.once("close", () => this.clients.delete(client));
  }

  /** The last `n` lines of output, with escape sequences removed, for error messages. */
  lastLines(n: number): string[] {
    // eslint-disable-next-line no-control-regex
    const clean = this.tail.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r/g, "");
    return clean.split("\n").filter((l) => l.trim()).slice(-n);
  }

  replaySize(): number {
    return this.size;
  }

  close(): Promise<void> {
    for (const c of this.clients) c.end();
    if (this.log >= 0) closeSync(this.log);
    this.log = -1;
    return Promise.resolve();
  }
}
