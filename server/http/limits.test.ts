import http from "node:http";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { deadlineOptions, limitSilentConnections, UnauthenticatedLimit } from "./limits.js";

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function listen(server: http.Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return (server.address() as net.AddressInfo).port;
}

/** A raw connection that records what the server sent and whether it closed the connection. */
function connect(port: number) {
  const c = net.connect(port, "127.0.0.1");
  const state = { got: "", closed: false };
  c.on("data", (d: Buffer) => (state.got += d.toString()));
  c.on("error", () => undefined);
  const closed = new Promise<void>((r) => c.on("close", () => ((state.closed = true), r())));
  const connected = new Promise<void>((r) => c.once("connect", () => r()));
  const status = () => Number(/^HTTP\/1\.1 (\d{3})/.exec(state.got)?.[1] ?? 0);
  return { c, state, closed, connected, status };
}

describe("request deadlines", () => {
  it("a body that trickles in past the deadline gets 408 and its connection closed; a streaming answer is not cut", async () => {
    const server = http.createServer(deadlineOptions({ headersMs: 300, requestMs: 300 }), (req, res) => {
      if (req.url === "/stream") {
        let n = 0;
        const t = setInterval(() => (++n < 6 ? res.write("x") : (clearInterval(t), res.end())), 200);
        return;
      }
      req.resume();
      req.on("end", () => res.end("done"));
    });
    const port = await listen(server);
    const slow = connect(port);
    slow.c.write("POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4000\r\n\r\n");
    const trickle = setInterval(() => slow.c.writable && slow.c.write("y"), 100);
    const silent = connect(port); // never sends a head
    const streamed = await new Promise<string>((resolve, reject) => {
      http.get({ host: "127.0.0.1", port, path: "/stream" }, (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve(body));
        res.on("error", reject);
      });
    });
    await Promise.all([slow.closed, silent.closed]);
    clearInterval(trickle);
    expect(slow.status()).toBe(408);
    expect(silent.status()).toBe(408);
    expect(streamed).toBe("xxxxx"); // 1 s of streaming, past the 300 ms deadline
  });
});

describe("connections that send nothing", () => {
  it("past the limit the oldest is dropped; the others, and requests, go on", async () => {
    const server = http.createServer((_req, res) => res.end("ok"));
    limitSilentConnections(server, 3);
    const port = await listen(server);
    const seen = new Promise<void>((r) => {
      let n = 0;
      server.on("connection", () => ++n === 4 && r());
    });
    const conns: Array<ReturnType<typeof connect>> = [];
    for (let i = 0; i < 4; i++) {
      const conn = connect(port);
      await conn.connected;
      conns.push(conn);
    }
    await seen;
    await conns[0]!.closed;
    expect(conns.slice(1).map((x) => x.state.closed)).toEqual([false, false, false]);
    const answered = new Promise<void>((r) => conns[1]!.c.on("data", () => r()));
    conns[1]!.c.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    await answered;
    expect(conns[1]!.status()).toBe(200);
  });
});

describe("unauthenticated requests in flight", () => {
  it("past the limit they get 503; every answer closes its connection; a finished one frees its place", async () => {
    const limit = new UnauthenticatedLimit(2);
    const held: http.ServerResponse[] = [];
    const server = http.createServer((_req, res) => {
      if (!limit.admit(res)) return void ((res.statusCode = 503), res.end());
      held.push(res);
    });
    const port = await listen(server);
    const send = (conn: ReturnType<typeof connect>) => conn.c.write("POST /api/session HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4000\r\n\r\nx");
    const [a, b, c] = [connect(port), connect(port), connect(port)];
    send(a);
    send(b);
    await new Promise<void>((r) => server.on("request", () => held.length === 2 && r()));
    send(c);
    await c.closed;
    expect(c.status()).toBe(503);
    held[0]!.end("signed in");
    await a.closed; // Connection: close, though its body never came
    expect(a.status()).toBe(200);
    const d = connect(port);
    send(d);
    await new Promise<void>((r) => server.on("request", () => held.length === 3 && r()));
    expect(b.state.closed).toBe(false);
    held[1]!.end();
    held[2]!.end();
    await Promise.all([b.closed, d.closed]);
  });
});
