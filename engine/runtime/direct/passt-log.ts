/**
 * passt's log file (its --log-file), read for one moment: when it acks the guest's DHCP
 * request, that is, when the guest's network is up.
 *
 * Why it matters: a connection to the forwarded SSH port made before then is accepted by
 * passt at once, its SYN goes to a guest that drops it, and it sits silent until passt gives
 * up on it (10 s). Such a probe must be waited out, never closed first: Debian 12's passt
 * then spins on a core for the VM's life (docs/benchmarks.md, "The wait for SSH"). Probes
 * made once the network is up get sshd's banner or a reset at once, so the SSH wait starts
 * them beside the silent one at that moment (ssh/ready.ts).
 */
import { open } from "node:fs/promises";

/** passt 2023 and later: "34.8566: info:    DHCP: ack to request", seconds since passt started first. */
const DHCP_ACK = /^(\d+\.\d+): \w+:\s+DHCP: ack to request\b/;

export class PasstLog {
  private offset = 0;
  private partial = "";
  /** The time (passt's seconds) of the last ack read: passt may cut old lines from the file, so acks are told apart by time, not counted. */
  private lastAck = -1;
  private readonly waiters = new Set<{ after: number; resolve: () => void }>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Reads one after another: two at once would read the same bytes twice. */
  private reading: Promise<void> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly intervalMs = 200,
  ) {}

  /**
   * Resolves at the first DHCP ack logged after this call (a boot's, or a reboot's). Never
   * if none comes (a guest with a static address) or passt ends; `signal` ends the wait
   * (and the reading, when nobody else waits).
   */
  async nextDhcpAck(signal?: AbortSignal): Promise<void> {
    await this.read();
    if (this.closed || signal?.aborted) return new Promise(() => undefined);
    return new Promise((resolve) => {
      const waiter = { after: this.lastAck, resolve };
      this.waiters.add(waiter);
      signal?.addEventListener("abort", () => this.forget(waiter), { once: true });
      this.timer ??= setInterval(() => void this.read().then(() => this.settle()), this.intervalMs);
    });
  }

  /** passt has ended: no more acks will come; waiters stay unresolved and the reading stops. */
  close(): void {
    this.closed = true;
    this.waiters.clear();
    this.stopReading();
  }

  private forget(waiter: { after: number; resolve: () => void }): void {
    this.waiters.delete(waiter);
    if (!this.waiters.size) this.stopReading();
  }

  private stopReading(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private settle(): void {
    for (const w of this.waiters) {
      if (this.lastAck > w.after) {
        this.waiters.delete(w);
        w.resolve();
      }
    }
    if (!this.waiters.size) this.stopReading();
  }

  private read(): Promise<void> {
    this.reading = this.reading.then(() => this.readMore()).catch(() => undefined);
    return this.reading;
  }

  /** Reads what passt appended since the last read, noting the time of the last ack among the whole lines. */
  private async readMore(): Promise<void> {
    const fh = await open(this.file, "r").catch(() => undefined);
    if (!fh) return;
    try {
      const { size } = await fh.stat();
      // passt keeps its log under --log-size by cutting old lines: read it again from the top
      // (the acks there are no later than lastAck).
      if (size < this.offset) {
        this.offset = 0;
        this.partial = "";
      }
      if (size === this.offset) return;
      const buf = Buffer.alloc(size - this.offset);
      const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
      this.offset += bytesRead;
      const lines = (this.partial + buf.subarray(0, bytesRead).toString("utf8")).split("\n");
      this.partial = lines.pop() ?? "";
      for (const line of lines) {
        const at = DHCP_ACK.exec(line);
        if (at) this.lastAck = Math.max(this.lastAck, Number(at[1]));
      }
    } finally {
      await fh.close();
    }
  }
}
