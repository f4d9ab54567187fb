/**
 * The one HTTP server behind `bootc serve`: Next's request handler for the UI, tRPC at
 * /api/trpc, and the terminal websockets at /api/term/{serial,ssh}/<vm>, all on one port.
 * Every request passes the same gate: allowed Host, then authentication (session cookie
 * or bearer token), then — for anything that changes state, and every websocket — an
 * exact same-Origin check.
 */
import { randomBytes } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { fileURLToPath } from "node:url";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { WebSocketServer } from "ws";
import { Engine } from "../../engine/vm/manager.js";
import { NAME_RE } from "../../engine/vm/options.js";
import { appRouter } from "../api/router.js";
import { Jobs } from "../api/jobs.js";
import { AutoRebuild } from "../api/auto-rebuild.js";
import { TerminalConnection } from "../terminal/connection.js";
import { serveSerial } from "../terminal/serial.js";
import { serveSsh } from "../terminal/ssh.js";
import { BodyTooLarge, sendFetchResponse, toFetchRequest } from "./fetch-bridge.js";
import { bearerToken, isAllowedHost, isSameOrigin, parseCookies, SECURITY_HEADERS, sessionCookieName, tokensEqual } from "./security.js";

export const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

export interface ServerOptions {
  port: number;
  host: string;
  /** Extra Host names to accept (besides loopback names), e.g. a tunnel's name. */
  allowHosts: string[];
  /** Serve the Next.js UI (false: API and terminals only). */
  ui: boolean;
  dev: boolean;
  engine?: Engine;
  token?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

type Auth = "cookie" | "bearer" | undefined;
type CreateNext = typeof import("next/dist/server/next.js").default;

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const token = opts.token ?? randomBytes(32).toString("base64url");
  const engine = opts.engine ?? new Engine();
  const jobs = new Jobs();
  const autoRebuild = new AutoRebuild(engine, jobs);
  let port = opts.port;
  const cookieName = () => sessionCookieName(port);

  let nextHandle: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;
  let nextUpgrade: ((req: IncomingMessage, socket: Duplex, head: Buffer) => Promise<void>) | undefined;

  const authOf = (req: IncomingMessage): Auth => {
    if (tokensEqual(parseCookies(req.headers.cookie)[cookieName()], token)) return "cookie";
    if (tokensEqual(bearerToken(req.headers.authorization), token)) return "bearer";
    return undefined;
  };

  /** Browsers always send Origin on websocket upgrades and POSTs; scripts with a bearer token may omit it. */
  const originOk = (req: IncomingMessage, auth: Auth) => {
    const origin = req.headers.origin;
    if (origin === undefined) return auth === "bearer";
    return isSameOrigin(origin, req.headers.host);
  };

  const deny = (res: ServerResponse, status: number, message: string) => {
    res.statusCode = status;
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ error: { message } }));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    if (!isAllowedHost(req.headers.host, opts.allowHosts)) return deny(res, 403, "host not allowed (bootc serve --allow-host NAME adds one)");
    const url = new URL(req.url ?? "/", "http://localhost");

    // Token → cookie exchange: the token leaves the URL (and the history) at once.
    const given = url.searchParams.get("token");
    if (given !== null) {
      if (!tokensEqual(given, token)) return deny(res, 401, "invalid token: open the URL printed by bootc serve");
      url.searchParams.delete("token");
      res.setHeader("Set-Cookie", `${cookieName()}=${token}; HttpOnly; SameSite=Strict; Path=/`);
      res.statusCode = 303;
      res.setHeader("Location", url.pathname + url.search);
      return res.end();
    }

    const auth = authOf(req);
    if (!auth) return deny(res, 401, "not signed in: open the URL printed by bootc serve, or send Authorization: Bearer <token>");
    const mutating = req.method !== "GET" && req.method !== "HEAD" && req.method !== "OPTIONS";
    if (mutating && !originOk(req, auth)) return deny(res, 403, "cross-origin request refused");

    if (url.pathname.startsWith("/api/trpc/") || url.pathname === "/api/trpc") {
      const abort = new AbortController();
      res.once("close", () => abort.abort());
      let request: Request;
      try {
        request = await toFetchRequest(req, abort.signal);
      } catch (e) {
        if (e instanceof BodyTooLarge) return deny(res, 413, "request body too large");
        throw e;
      }
      const response = await fetchRequestHandler({ endpoint: "/api/trpc", req: request, router: appRouter, createContext: () => ({ engine, jobs, autoRebuild }) });
      return sendFetchResponse(response, res);
    }
    if (url.pathname.startsWith("/api/")) return deny(res, 404, "no such API route");
    if (!nextHandle) return deny(res, 404, "the web UI is not served by this server (API only)");
    return nextHandle(req, res);
  };

  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refuse = (status: string) => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const url = new URL(req.url ?? "/", "http://localhost");
    const m = /^\/api\/term\/(serial|ssh)\/([^/]+)$/.exec(url.pathname);
    if (!m) {
      // Next's own upgrades (HMR in dev) pass through, after the same Host check.
      if (nextUpgrade && isAllowedHost(req.headers.host, opts.allowHosts)) return void nextUpgrade(req, socket, head);
      return refuse("404 Not Found");
    }
    if (!isAllowedHost(req.headers.host, opts.allowHosts)) return refuse("403 Forbidden");
    const auth = authOf(req);
    if (!auth) return refuse("401 Unauthorized");
    if (!originOk(req, auth)) return refuse("403 Forbidden");
    const [, kind, name] = m;
    if (!name || !NAME_RE.test(name)) return refuse("400 Bad Request");
    wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = new TerminalConnection(ws);
      const cols = Number(url.searchParams.get("cols")) || 80;
      const rows = Number(url.searchParams.get("rows")) || 24;
      const session = kind === "serial" ? serveSerial(conn, engine, name) : serveSsh(conn, engine, name, { cols, rows });
      void session.catch((e: unknown) => conn.fail(e instanceof Error ? e.message : String(e)));
    });
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) deny(res, 500, "internal error");
      else res.destroy();
    });
  });
  server.on("upgrade", onUpgrade);
  server.requestTimeout = 0; // SSE streams stay open
  server.headersTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address();
  port = typeof addr === "object" && addr ? addr.port : opts.port;

  if (opts.ui) {
    // Loaded only here, so the CLI's other commands never load Next or React.
    const mod = (await import("next")) as unknown as { default: CreateNext | { default: CreateNext } };
    // next is CommonJS: depending on the loader, its factory is `default` or `default.default`.
    const next = typeof mod.default === "function" ? mod.default : mod.default.default;
    const app = next({ dev: opts.dev, dir: ROOT, hostname: "127.0.0.1", port, quiet: true });
    await app.prepare();
    nextHandle = app.getRequestHandler() as typeof nextHandle;
    nextUpgrade = app.getUpgradeHandler() as typeof nextUpgrade;
  }

  const shownHost = opts.host === "0.0.0.0" || opts.host === "::" ? "127.0.0.1" : opts.host.includes(":") ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${shownHost}:${port}/?token=${token}`,
    port,
    token,
    close: async () => {
      autoRebuild.closeAll();
      for (const c of wss.clients) c.terminate();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
