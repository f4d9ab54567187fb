/**
 * What every terminal websocket has in common: framing, flow control, heartbeats, and a
 * clean end with a reason. serial.ts and ssh.ts plug a source into it.
 */
import type { WebSocket } from "ws";
import { decodeClientFrame, encodeControl, encodeOutput, HEARTBEAT_MS, type Control } from "../protocol/frames.js";
import { FlowControl } from "./flow.js";

const MAX_FRAME = 64 * 1024;

export interface TerminalSource {
  write(data: Uint8Array): void;
  resize?(cols: number, rows: number): void;
  pause(): void;
  resume(): void;
  close(): void;
}

export class TerminalConnection {
  private flow?: FlowControl;
  private source?: TerminalSource;
  private ended = false;
  private alive = true;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(private readonly ws: WebSocket) {
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return;
      const frame = decodeClientFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      if (!frame) return;
      if (frame.type === "input") this.source?.write(frame.data);
      else if (frame.type === "resize") this.source?.resize?.(frame.cols, frame.rows);
      else this.flow?.acked(frame.bytes);
    });
    ws.on("pong", () => (this.alive = true));
    ws.on("close", () => this.end());
    ws.on("error", () => this.end());
    // A browser that vanished without closing is dropped after a missed pong; the browser,
    // which cannot see pings, hears a heartbeat control and drops a silent server likewise.
    this.heartbeat = setInterval(() => {
      if (!this.alive) return ws.terminate();
      this.alive = false;
      ws.ping();
      this.control({ type: "heartbeat" });
    }, HEARTBEAT_MS);
  }

  attach(source: TerminalSource): void {
    this.source = source;
    this.flow = new FlowControl(
      () => source.pause(),
      () => source.resume(),
    );
    if (this.ended) source.close();
  }

  output(data: Uint8Array): void {
    for (let i = 0; i < data.length; i += MAX_FRAME) {
      const chunk = data.subarray(i, i + MAX_FRAME);
      this.ws.send(encodeOutput(chunk));
      this.flow?.sent(chunk.length);
    }
  }

  control(c: Control): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(encodeControl(c));
  }

  /** Ends the session: tells the viewer why, then closes. */
  finish(reason: string): void {
    this.control({ type: "exit", reason });
    this.ws.close(1000, reason.slice(0, 120));
    this.end();
  }

  fail(message: string): void {
    this.control({ type: "error", message });
    this.ws.close(1011, message.slice(0, 120));
    this.end();
  }

  get closed(): boolean {
    return this.ended;
  }

  /** Bytes sent and not yet acknowledged (for tests and diagnostics). */
  get pending(): number {
    return this.flow?.pending ?? 0;
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.heartbeat);
    this.source?.close();
  }
}
