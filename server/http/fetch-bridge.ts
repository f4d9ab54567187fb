/**
 * Bridging Node's http request/response and the fetch Request/Response that tRPC's fetch
 * adapter speaks — with a hard limit on request bodies, and streaming responses (SSE)
 * that stop when the client goes away.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { MAX_BODY_BYTES } from "./security.js";

export class BodyTooLarge extends Error {}

/**
 * How much of an API request body over the limit is still read, and dropped, before the 413:
 * a server that answers and closes while the client is still sending leaves unread data,
 * the kernel then resets the connection, and the client sees a send error (EPIPE) instead
 * of the answer. More than this and the connection is dropped at once.
 */
export const DRAIN_BYTES = 16 * 1024 * 1024;

/**
 * The request body, at most `limit` bytes (else BodyTooLarge). With `drainUpTo`, a body over
 * the limit is read to its end and dropped first, if it is no larger than that.
 */
export async function readBody(req: IncomingMessage, limit: number, o: { drainUpTo?: number } = {}): Promise<Buffer> {
  const drain = Math.max(limit, o.drainUpTo ?? 0);
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > drain) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > drain) throw new BodyTooLarge();
    if (size <= limit) chunks.push(chunk as Buffer);
  }
  if (size > limit || declared > limit) throw new BodyTooLarge();
  return Buffer.concat(chunks);
}

/** `url` is the request target as the gate parsed it; the Host header plays no part (it was checked, and tRPC needs only the path). */
export async function toFetchRequest(req: IncomingMessage, url: URL, signal: AbortSignal): Promise<Request> {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    for (const value of Array.isArray(v) ? v : [v]) headers.append(k, value);
  }
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  const body = hasBody ? await readBody(req, MAX_BODY_BYTES, { drainUpTo: DRAIN_BYTES }) : undefined;
  return new Request(url, { method: req.method, headers, body: body ? new Uint8Array(body) : undefined, signal });
}

export async function sendFetchResponse(response: Response, res: ServerResponse): Promise<void> {
  res.statusCode = response.status;
  response.headers.forEach((value, key) => res.setHeader(key, value));
  if (!response.body) return void res.end();
  res.flushHeaders();
  const reader = response.body.getReader();
  res.once("close", () => void reader.cancel().catch(() => undefined));
  for (;;) {
    const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
    if (done) break;
    if (!res.write(value)) await new Promise((r) => res.once("drain", r));
  }
  res.end();
}
