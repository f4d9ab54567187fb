/**
 * Flow control for one terminal connection: count bytes sent and not yet acknowledged by
 * the browser (which acks after xterm.js has rendered them); pause the source above the
 * high watermark, resume below the low one. A slow or stalled viewer thus holds at most
 * about HIGH bytes in the server, however fast the guest writes.
 */
export const HIGH_WATERMARK = 512 * 1024;
export const LOW_WATERMARK = 128 * 1024;

export class FlowControl {
  private unacked = 0;
  private paused = false;

  constructor(
    private readonly pause: () => void,
    private readonly resume: () => void,
    private readonly high = HIGH_WATERMARK,
    private readonly low = LOW_WATERMARK,
  ) {}

  sent(bytes: number): void {
    this.unacked += bytes;
    if (!this.paused && this.unacked >= this.high) {
      this.paused = true;
      this.pause();
    }
  }

  acked(bytes: number): void {
    this.unacked = Math.max(0, this.unacked - bytes);
    if (this.paused && this.unacked <= this.low) {
      this.paused = false;
      this.resume();
    }
  }

  get pending(): number {
    return this.unacked;
  }

  get isPaused(): boolean {
    return this.paused;
  }
}
