/**
 * The monitor's unix socket: accepts clients, reads each one's single request line, checks
 * it (protocol.ts) and hands it to the supervisor. Everything a client sends is untrusted:
 * a request that is not one of the protocol's is answered "bad request", and an error while
 * handling one is answered to that client alone — no client's input can end the VM.
 */
import { unlink } from "node:fs/promises";
import net from "node:net";
import { parseMonitorRequest, type MonitorRequest } from "./protocol.js";

const MAX_REQUEST_LINE = 4096;

export type RequestHandler = (req: MonitorRequest, sock: net.Socket, rest: Buffer) => void;

export async function listenMonitorSocket(file: string, handle: RequestHandler): Promise<net.Server> {
  await unlink(file).catch(() => undefined);
  const server = net.createServer((sock) => onClient(sock, handle));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(file, () => resolve());
  });
  return server;
}

function onClient(sock: net.Socket, handle: RequestHandler): void {
  sock.on("error", () => undefined);
  let head = Buffer.alloc(0);
  const onData = (d: Buffer) => {
    head = Buffer.concat([head, d]);
    const nl = head.indexOf(10);
    if (nl < 0) {
      if (head.length > MAX_REQUEST_LINE) sock.destroy();
      return;
    }
    sock.off("data", onData);
    const req = parseMonitorRequest(head.subarray(0, nl).toString());
    if (!req) {
      sock.end(JSON.stringify({ ok: false, error: "bad request" }) + "\n");
      return;
    }
    try {
      handle(req, sock, head.subarray(nl + 1));
    } catch (e) {
      sock.end(JSON.stringify({ ok: false, error: e instanceof Error ? e.message : String(e) }) + "\n");
    }
  };
  sock.on("data", onData);
}
