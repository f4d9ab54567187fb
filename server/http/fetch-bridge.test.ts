import { createServer, type Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BodyTooLarge, DRAIN_BYTES, toFetchRequest } from "./fetch-bridge.js";
import { MAX_BODY_BYTES } from "./security.js";

// The API's own handling of a body over the limit: the bridge refuses it, the server answers 413 and closes.
let server: Server;
let port = 0;
beforeAll(async () => {
  server = createServer((req, res) => {
    toFetchRequest(req, new URL("http://127.0.0.1/api/trpc/x"), new AbortController().signal).then(
      () => res.end("ok"),
      (e: unknown) => {
        res.statusCode = e instanceof BodyTooLarge ? 413 : 500;
        res.setHeader("Connection", "close");
        res.end("refused");
      },
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => server.close());

/**
 * POSTs `size` bytes in 64 KiB writes a few milliseconds apart, going on after the server's
 * answer as an HTTP client sending its body does (fetch's); what it read back and whether a
 * write failed.
 */
function slowPost(size: number, declared = size): Promise<{ answer: string; writeError?: string }> {
  return new Promise((resolve) => {
    const sock = connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    let answer = "";
    let writeError: string | undefined;
    sock.on("data", (d) => (answer += d.toString()));
    sock.on("error", (e) => (writeError ??= e.message));
    sock.on("close", () => resolve({ answer, ...(writeError ? { writeError } : {}) }));
    sock.write(`POST /api/trpc/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\nConnection: close\r\n\r\n`);
    let sent = 0;
    const next = () => {
      if (sock.destroyed) return;
      if (sent >= size) return void sock.end();
      const n = Math.min(64 * 1024, size - sent);
      sent += n;
      sock.write(Buffer.alloc(n, 0x78), () => setTimeout(next, 2));
    };
    next();
  });
}

describe("request bodies over the limit", () => {
  it("are read to their end before the 413, so a client still sending gets the answer rather than a reset", async () => {
    const r = await slowPost(8 * MAX_BODY_BYTES);
    expect(r.writeError).toBeUndefined();
    expect(r.answer).toMatch(/^HTTP\/1\.1 413 /);
  });

  it("are not read when they declare more than the drain allows: refused at once, the connection closed under the sender", async () => {
    const r = await slowPost(2 * MAX_BODY_BYTES, DRAIN_BYTES + 1);
    expect(r.answer).toMatch(/^(HTTP\/1\.1 413 |$)/);
    expect(r.writeError).toBeDefined();
  });

  it("within the limit, still pass", async () => {
    const r = await slowPost(1000);
    expect(r.answer).toMatch(/^HTTP\/1\.1 200 /);
  });
});
