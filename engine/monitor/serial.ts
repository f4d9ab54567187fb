/**
 * Serial console fan-out: every byte from the guest goes to the log file, a bounded
 * replay buffer (so a new viewer sees recent history) and each attached client.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import type { Writable } from "node:stream";

export const REPLAY_BYTES = 256 * 1024;

export class SerialFanout {
  private chunks: Buffer[] = [];
  private size = 0;
  private readonly clients = new Set<Writable>();
  private readonly log: WriteStream;
  private tail = "";

  constructor(logFile: string, private readonly limit = REPLAY_BYTES) {
    this.log = createWriteStream(logFile, { flags: "a" });
  }

  push(data: Buffer): void {
    this.log.write(data);
    this.chunks.push(data);
    this.size += data.length;
    while (this.size > this.limit && this.chunks.length > 1) {
      this.size -= this.chunks.shift()!.length;
    }
    this.tail = (this.tail + data.toString("utf8")).slice(-4096);
    for (const c of this.clients) c.write(data);
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
    return new Promise((resolve) => this.log.end(resolve));
  }
}
