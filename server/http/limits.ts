/**
 * What a client without a session or the token can hold on the server, bounded — so a flood
 * of slow connections neither uses up the process's file descriptors nor keeps the token
 * holder out (docs/api.md, "Security model"):
 *  - deadlines on every request: its headers within `headersMs`, the whole request, body
 *    included, within `requestMs`; node answers 408 and closes the connection, however
 *    slowly the body trickles in. Only receiving the request is timed: a response may
 *    stream for as long as it likes (server-sent events);
 *  - connections that have not sent a request yet: at most MAX_SILENT; one more drops the
 *    oldest (a real client sends its request at once, so a flood cannot keep it out);
 *  - unauthenticated requests in flight (a sign-in whose body is still arriving): at most
 *    MAX_UNAUTHENTICATED at once; past that, 503;
 *  - every answer to an unauthenticated request closes its connection, so none lingers in
 *    keep-alive or while an unread body trickles in.
 * Authenticated requests pass none of these limits but the deadlines.
 */
import type http from "node:http";
import type { Socket } from "node:net";

export interface Deadlines {
  headersMs: number;
  requestMs: number;
}

export const DEFAULT_DEADLINES: Deadlines = { headersMs: 10_000, requestMs: 30_000 };
export const MAX_SILENT = 256;
export const MAX_UNAUTHENTICATED = 16;

/** Options for http.createServer: node enforces the deadlines, looking at every connection at least once a second. */
export function deadlineOptions(d: Deadlines): http.ServerOptions {
  const headersMs = Math.min(d.headersMs, d.requestMs); // node refuses a header deadline past the request's
  return { headersTimeout: headersMs, requestTimeout: d.requestMs, connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersMs / 4))) };
}

/** Drops the oldest connection that has not sent a request when more than `max` are waiting. */
export function limitSilentConnections(server: http.Server, max = MAX_SILENT): void {
  const silent = new Set<Socket>(); // in arrival order
  server.on("connection", (socket: Socket) => {
    silent.add(socket);
    socket.once("close", () => silent.delete(socket));
    if (silent.size <= max) return;
    const oldest = silent.values().next().value;
    if (oldest) {
      silent.delete(oldest);
      oldest.destroy();
    }
  });
  const heard = (req: http.IncomingMessage) => silent.delete(req.socket);
  server.prependListener("request", heard);
  server.prependListener("upgrade", heard);
}

/** Counts unauthenticated requests in flight, from their head until their answer is done. */
export class UnauthenticatedLimit {
  private inFlight = 0;

  constructor(private readonly max = MAX_UNAUTHENTICATED) {}

  /** False past the limit. Either way the connection closes after the answer. */
  admit(res: http.ServerResponse): boolean {
    res.setHeader("Connection", "close");
    if (this.inFlight >= this.max) return false;
    this.inFlight++;
    res.once("close", () => this.inFlight--);
    return true;
  }
}
