/**
 * A minimal QMP client: connect to qemu's unix socket, negotiate capabilities, send
 * commands. Used for graceful shutdown (system_powerdown) and quit.
 */
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export class Qmp {
  private buffer = "";
  private pending: Array<(reply: Record<string, unknown>) => void> = [];
  /** Called for each asynchronous event qemu sends (SHUTDOWN, RESET, …); none is kept. */
  onEvent?: (e: { event: string; data?: Record<string, unknown> }) => void;

  private constructor(private readonly socket: net.Socket) {
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      this.buffer += d;
      let nl;
      while ((nl = this.buffer.indexOf("\n")) >= 0) {
        const line = this.buffer.slice(0, nl).trim();
        this.buffer = this.buffer.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as Record<string, unknown>;
        if ("event" in msg) this.onEvent?.(msg as { event: string; data?: Record<string, unknown> });
        else if ("return" in msg || "error" in msg) this.pending.shift()?.(msg);
      }
    });
    socket.on("error", () => undefined);
  }

  /** Connects, retrying while qemu creates the socket. */
  static async connect(path: string, timeoutMs = 30_000): Promise<Qmp> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const socket = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.createConnection(path, () => resolve(s));
          s.once("error", reject);
        });
        const qmp = new Qmp(socket);
        await qmp.command("qmp_capabilities");
        return qmp;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await sleep(100);
      }
    }
  }

  command(execute: string, args?: Record<string, unknown>): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      // The greeting arrives first and has neither return nor error, so it is skipped.
      this.pending.push(resolve);
      this.socket.write(JSON.stringify({ execute, ...(args ? { arguments: args } : {}) }) + "\n");
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
