/** Talking to a VM's monitor over its unix socket (see protocol.ts). */
import net from "node:net";
import { BootcError } from "../errors.js";
import { vmPaths, type EnginePaths } from "../paths.js";
import type { MonitorEvent, MonitorRequest, StopReply } from "./protocol.js";

export function connectMonitor(name: string, req: MonitorRequest, paths?: EnginePaths): Promise<net.Socket> {
  const sockPath = vmPaths(name, paths).monitorSock;
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(sockPath, () => {
      sock.off("error", reject);
      sock.write(JSON.stringify(req) + "\n");
      resolve(sock);
    });
    sock.once("error", (e) =>
      reject(new BootcError("MONITOR_UNREACHABLE", `cannot reach the monitor of VM "${name}": ${e.message}`, `is it running? see \`bootc list\``, { cause: e })),
    );
  });
}

/** Calls `onEvent` for each event until the monitor closes the stream; returns a closer. */
export async function watchEvents(name: string, onEvent: (e: MonitorEvent) => void, paths?: EnginePaths): Promise<{ close: () => void; closed: Promise<void> }> {
  const sock = await connectMonitor(name, { op: "events" }, paths);
  let buf = "";
  sock.setEncoding("utf8");
  sock.on("data", (d: string) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim()) onEvent(JSON.parse(line) as MonitorEvent);
    }
  });
  const closed = new Promise<void>((resolve) => sock.once("close", () => resolve()));
  return { close: () => sock.destroy(), closed };
}

export async function requestStop(name: string, force: boolean, timeoutSec: number, paths?: EnginePaths): Promise<StopReply> {
  const sock = await connectMonitor(name, { op: "stop", force, timeoutSec }, paths);
  let text = "";
  sock.setEncoding("utf8");
  sock.on("data", (d: string) => (text += d));
  await new Promise<void>((resolve) => sock.once("close", () => resolve()));
  const line = text.trim().split("\n")[0];
  if (!line) return { ok: false, error: "the monitor closed without replying" };
  return JSON.parse(line) as StopReply;
}

/** A duplex stream: serial output (replay first) in, keystrokes out. */
export function attachConsole(name: string, paths?: EnginePaths): Promise<net.Socket> {
  return connectMonitor(name, { op: "console" }, paths);
}
