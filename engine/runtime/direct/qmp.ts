/**
 * A minimal QMP client: connect to qemu's unix socket, negotiate capabilities, send
 * commands, and hear why qemu shut down. Used for graceful shutdown (system_powerdown) and
 * to tell a guest that powered itself off from one that crashed or was killed.
 */
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** qemu's SHUTDOWN event: whether the guest asked for it, and why ("guest-shutdown", "host-signal", "guest-panic", …). */
export interface QmpShutdown {
  guest: boolean;
  reason: string;
}

/** A QMP command as sent: `execute` and its arguments. */
export interface QmpCommand {
  execute: string;
  arguments?: Record<string, unknown>;
}

export class Qmp {
  private buffer = "";
  private pending: Array<(reply: Record<string, unknown>) => void> = [];
  private readonly eventWaiters = new Set<(msg: Record<string, unknown>) => boolean>();
  private readonly listeners: Array<{ name: string; hear: (data: Record<string, unknown>) => void }> = [];
  /** The SHUTDOWN event, once qemu has sent it (just before it exits). */
  shutdown?: QmpShutdown;
  /** Settles when qemu has closed the connection: everything it sent has been read. */
  readonly closed: Promise<void>;

  private constructor(private readonly socket: net.Socket) {
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.setEncoding("utf8");
    socket.on("data", (d: string) => {
      this.buffer += d;
      let nl;
      while ((nl = this.buffer.indexOf("\n")) >= 0) {
        const line = this.buffer.slice(0, nl).trim();
        this.buffer = this.buffer.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as Record<string, unknown>;
        if (msg.event === "SHUTDOWN") {
          const data = msg.data as Partial<QmpShutdown> | undefined;
          this.shutdown = { guest: data?.guest === true, reason: String(data?.reason ?? "unknown") };
        } else if ("return" in msg || "error" in msg) this.pending.shift()?.(msg);
        if (typeof msg.event === "string") {
          for (const w of this.eventWaiters) if (w(msg)) this.eventWaiters.delete(w);
          for (const l of this.listeners) if (l.name === msg.event) l.hear((msg.data ?? {}) as Record<string, unknown>);
        }
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

  /** Sends `c` and returns its result; a QMP error becomes an Error with qemu's own words. */
  async run(c: QmpCommand): Promise<unknown> {
    const reply = await this.command(c.execute, c.arguments);
    if ("error" in reply) {
      const err = reply.error as { desc?: string } | undefined;
      throw new Error(`${c.execute}: ${err?.desc ?? "failed"}`);
    }
    return reply.return;
  }

  /** Resolves true when an event `name` whose data passes `match` arrives, false after `timeoutMs`. Call before the command that causes it. */
  waitEvent(name: string, match: (data: Record<string, unknown>) => boolean, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const waiter = (msg: Record<string, unknown>) => {
        if (msg.event !== name || !match((msg.data ?? {}) as Record<string, unknown>)) return false;
        clearTimeout(timer);
        resolve(true);
        return true;
      };
      const timer = setTimeout(() => {
        this.eventWaiters.delete(waiter);
        resolve(false);
      }, timeoutMs);
      this.eventWaiters.add(waiter);
    });
  }

  /** Calls `hear` with the data of every event `name` from now on, for as long as the connection lasts. */
  onEvent(name: string, hear: (data: Record<string, unknown>) => void): void {
    this.listeners.push({ name, hear });
  }

  close(): void {
    this.socket.destroy();
  }
}
