/**
 * Serial console fan-out: every byte from the guest goes to the log file, a bounded
 * replay buffer (so a new viewer sees recent history) and each attached client.
 *
 * Everything here is bounded, because a guest can write without end: the log is rotated
 * (one previous file kept), and a viewer that stops reading is disconnected once its
 * unsent backlog passes a cap — it can attach again and gets the replay — so one stalled
 * viewer never grows the monitor's memory.
 *
 * The emulated UART hands qemu's stdout a few bytes per read. Kept or forwarded one read at
 * a time, a flood costs far more than its bytes (a Buffer and a queued write per read: a
 * stalled viewer's 4 MiB backlog grew the monitor by hundreds of MiB, e2e/engine.e2e.ts).
 * So the replay is one fixed ring, and output is forwarded in batches every few
 * milliseconds.
 */
import { closeSync, fstatSync, openSync, renameSync, writeSync } from "node:fs";
import type { Duplex, Writable } from "node:stream";
import { consoleLines } from "../../core/file-tail.js";

export const REPLAY_BYTES = 256 * 1024;
export const VIEWER_BACKLOG_BYTES = 4 * 1024 * 1024;
export const LOG_BYTES = 32 * 1024 * 1024;
/** How long output gathers before it goes to the log and the viewers: unnoticeable at a console. */
export const BATCH_MS = 10;

/** The last `capacity` bytes written, in one preallocated buffer. */
class Ring {
  private readonly buf: Buffer;
  private start = 0;
  size = 0;

  constructor(private readonly capacity: number) {
    this.buf = Buffer.alloc(capacity);
  }

  write(data: Buffer): void {
    if (data.length >= this.capacity) {
      data.copy(this.buf, 0, data.length - this.capacity);
      [this.start, this.size] = [0, this.capacity];
      return;
    }
    const end = (this.start + this.size) % this.capacity;
    const first = Math.min(data.length, this.capacity - end);
    data.copy(this.buf, end, 0, first);
    data.copy(this.buf, 0, first);
    const overflow = Math.max(0, this.size + data.length - this.capacity);
    this.size = Math.min(this.capacity, this.size + data.length);
    this.start = (this.start + overflow) % this.capacity;
  }

  /** The contents, oldest first; the last `n` bytes when n is given. */
  contents(n = this.size): Buffer {
    const skip = this.size - Math.min(n, this.size);
    const from = (this.start + skip) % this.capacity;
    const len = this.size - skip;
    const head = this.buf.subarray(from, Math.min(from + len, this.capacity));
    return Buffer.concat([head, this.buf.subarray(0, len - head.length)]);
  }
}

export class SerialFanout {
  private readonly replay: Ring;
  private readonly clients = new Set<Writable>();
  private pending: Buffer[] = [];
  private timer?: NodeJS.Timeout;

  private logged: number;
  /** Written synchronously: rotation must know where each byte went. */
  private log: number;

  constructor(
    private readonly logFile: string,
    limit = REPLAY_BYTES,
    private readonly caps = { viewerBacklog: VIEWER_BACKLOG_BYTES, log: LOG_BYTES },
  ) {
    this.replay = new Ring(limit);
    this.log = openSync(logFile, "a", 0o600);
    this.logged = fstatSync(this.log).size;
  }

  push(data: Buffer): void {
    this.replay.write(data);
    this.pending.push(data);
    this.timer ??= setTimeout(() => this.flush(), BATCH_MS);
  }

  /** Sends what gathered to the log and every viewer, as one write each. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending.length) return;
    const data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    if (this.log >= 0) {
      if (this.logged + data.length > this.caps.log) this.rotateLog();
      try {
        writeSync(this.log, data);
      } catch {
        // a full disk must not end the console: viewers and the replay still get the bytes
      }
      this.logged += data.length;
    }
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
    // What is pending is in the replay already: send it to the others first, not twice here.
    this.flush();
    client.write(this.replay.contents());
    this.clients.add(client);
    client.once("close", () => this.clients.delete(client));
  }

  /** The last `n` lines of recent output, with escape sequences removed (for spotting a panic as it happens). */
  lastLines(n: number): string[] {
    return consoleLines(this.replay.contents(4096).toString("utf8"), n);
  }

  replaySize(): number {
    return this.replay.size;
  }

  close(): Promise<void> {
    this.flush();
    for (const c of this.clients) c.end();
    if (this.log >= 0) closeSync(this.log);
    this.log = -1;
    return Promise.resolve();
  }
}

/** The monitor's "console" op: a header line (so a client can tell the replayed history from live output), the replay, live output; what the client writes goes to the guest. */
export function attachViewer(serial: SerialFanout | undefined, input: Writable | undefined, sock: Duplex, rest: Buffer): void {
  if (!serial || !input) {
    sock.end(JSON.stringify({ replayBytes: 0, error: "the serial console is not up yet" }) + "\n");
    return;
  }
  sock.write(JSON.stringify({ replayBytes: serial.replaySize() }) + "\n");
  serial.attach(sock);
  if (rest.length) input.write(rest);
  sock.on("data", (d: Buffer) => input.write(d));
}
