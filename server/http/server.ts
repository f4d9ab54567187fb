/**
 * The one HTTP server behind `bootc serve`: Next's request handler for the UI, tRPC at
 * /api/trpc, and the terminal websockets at /api/term/{serial,ssh}/<vm>, all on one port.
 * Every request passes the same gate: allowed Host, then authentication (a bearer token, or
 * a browser session: its cookie, and for the API and terminals also its page's key —
 * auth.ts), then — for anything that changes state, and every websocket — an exact
 * same-Origin check. Nothing is parsed or served for an unauthenticated request
 * beyond the sign-in page and its POST, and such requests cannot hold the server: deadlines,
 * a small in-flight limit and closed connections (limits.ts).
 *
 * Browsers sign in on the console's own host name, bootc-<random>.localhost:PORT, which
 * browsers resolve to loopback: its host-only session cookie is never sent to another
 * server on 127.0.0.1 or localhost. Cookies ignore ports, though, so a server on another
 * port of that name gets it: alone it opens no API. The cookie holds a session id, never
 * the token. See docs/api.md.
 */
import { randomBytes } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { WebSocketServer } from "ws";
import { Engine } from "../../engine/vm/manager.js";
import { appRouter } from "../api/router.js";
import { API_VERSION } from "../api/meta.js";
import { Jobs } from "../api/jobs.js";
import { AutoRebuild } from "../api/auto-rebuild.js";
import { TerminalConnection } from "../terminal/connection.js";
import { serveSerial } from "../terminal/serial.js";
import { serveSsh } from "../terminal/ssh.js";
import { vmNameSchema } from "../../engine/core/schema.js";
import { BodyTooLarge, readBody, sendFetchResponse, toFetchRequest } from "./fetch-bridge.js";
import {
  allowedHostNames,
  checkHost,
  contentSecurityPolicy,
  isSameOrigin,
  newNonce,
  type ParsedHost,
  requestTarget,
  SECURITY_HEADERS,
  sessionCookieName,
  tokensEqual,
} from "./security.js";
import { type Auth, Credentials } from "./auth.js";
import { safeNext, SIGNIN_HTML, SIGNIN_JS } from "./signin.js";
import { listenPrivateSocket } from "./unix-socket.js";
import { loadNext, type NextApp } from "./next-app.js";
import { DEFAULT_DEADLINES, deadlineOptions, type Deadlines, limitSilentConnections, UnauthenticatedLimit } from "./limits.js";

export { ROOT } from "./next-app.js";

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
  /**
   * The host name browsers sign in on (default bootc-<random>.localhost). Set it to
   * 127.0.0.1 only for a browser that cannot resolve *.localhost names: the session cookie
   * then reaches every server on 127.0.0.1.
   */
  consoleHost?: string;
  /**
   * Also serve the API and terminals on this unix socket, made mode 0600: its file
   * permissions are the access control (no token, no Host or Origin checks — browsers
   * cannot reach a unix socket). For local tools such as the Podman Desktop extension.
   */
  socket?: string;
  /** Header and request deadlines (limits.ts); shorter ones let tests see them pass. */
  deadlines?: Deadlines;
}

export interface RunningServer {
  /** A sign-in URL for a browser: it carries a one-time code (a new one each time this is read). */
  url: string;
  /** Where scripts reach the API with the bearer token. */
  apiOrigin: string;
  port: number;
  token: string;
  /** A new token, every browser session and unused sign-in link ended; returns a new sign-in URL. */
  rotate(): string;
  close(): Promise<void>;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const consoleHost = (opts.consoleHost ?? `bootc-${randomBytes(4).toString("hex")}.localhost`).toLowerCase();
  const signinHosts = new Set([consoleHost, ...opts.allowHosts.map((h) => h.toLowerCase())]);
  const allowedHosts = allowedHostNames(consoleHost, opts.allowHosts);
  const engine = opts.engine ?? new Engine();
  const jobs = new Jobs();
  const autoRebuild = new AutoRebuild(engine, jobs);
  let port = opts.port;
  const cookieName = () => sessionCookieName(port);
  const creds = new Credentials(opts.token ?? randomBytes(32).toString("base64url"), cookieName);

  let ui: NextApp | undefined;

  /** Browsers always send Origin on websocket upgrades and POSTs; scripts with a bearer token may omit it. */
  const originOk = (req: IncomingMessage, auth: Auth | undefined) => {
    const origin = req.headers.origin;
    if (auth === "socket") return true;
    if (origin === undefined) return auth === "bearer";
    return isSameOrigin(origin, req.headers.host);
  };

  const unauthenticated = new UnauthenticatedLimit();

  /** A refusal at the gate; its connection closes after it (an unread body may still be arriving). */
  const deny = (res: ServerResponse, status: number, message: string) => {
    res.statusCode = status;
    res.setHeader("Connection", "close");
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ error: { message } }));
  };

  /** The console's own origin, on the port the browser used (an SSH tunnel may map it). */
  const consoleOrigin = (host: ParsedHost) => `http://${consoleHost}:${host.port ?? port}`;

  const handle = async (req: IncomingMessage, res: ServerResponse, viaSocket = false) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    res.setHeader("X-Bootc-Api-Version", String(API_VERSION));
    const nonce = newNonce();
    const csp = contentSecurityPolicy(nonce);
    res.setHeader("Content-Security-Policy", csp);
    const url = requestTarget(req.url);
    if (!url) return deny(res, 400, "the request target must be a path");
    if (viaSocket) {
      if (!url.pathname.startsWith("/api/trpc")) return deny(res, 404, "the unix socket serves the API (/api/trpc) and terminals only");
      return serveApi(req, res, url);
    }
    const hostCheck = checkHost(req.headers.host, allowedHosts);
    if (!hostCheck.ok) return deny(res, hostCheck.status, hostCheck.message);
    const host = hostCheck.host;
    const auth = creds.authOf(req, url, url.pathname.startsWith("/api/"));
    if (!auth && !unauthenticated.admit(res)) return deny(res, 503, "too many requests without a session or token at once: try again in a moment");

    // An old-style ?token= link: on to the sign-in page with a one-time code in its place.
    const given = url.searchParams.get("token");
    if (given !== null) {
      if (!tokensEqual(given, creds.token)) return deny(res, 401, "invalid token: open the URL printed by bootc serve");
      url.searchParams.delete("token");
      return redirect(res, `${consoleOrigin(host)}/signin?next=${encodeURIComponent(url.pathname + url.search)}#code=${creds.codes.create()}`);
    }
    if (req.method === "GET" && url.pathname === "/signin") {
      // Signing in happens only on the console's own name, so its cookie stays there.
      if (!signinHosts.has(host.name)) return redirect(res, `${consoleOrigin(host)}/signin${url.search}`);
      res.setHeader("Content-Type", "text/html; charset=utf-8");
      res.setHeader("Cache-Control", "no-store");
      return res.end(SIGNIN_HTML);
    }
    if (req.method === "GET" && url.pathname === "/signin.js") {
      res.setHeader("Content-Type", "text/javascript; charset=utf-8");
      return res.end(SIGNIN_JS);
    }
    if (url.pathname === "/api/session" && req.method === "POST") return signIn(req, res, host);

    if (!auth)
      return deny(
        res,
        401,
        "not signed in: open the URL printed by bootc serve, or send Authorization: Bearer <token> (a browser's session cookie alone opens no API: its page sends the session key too)",
      );
    const mutating = req.method !== "GET" && req.method !== "HEAD" && req.method !== "OPTIONS";
    if (mutating && !originOk(req, auth)) return deny(res, 403, "cross-origin request refused");

    if (url.pathname.startsWith("/api/trpc/") || url.pathname === "/api/trpc") return serveApi(req, res, url);
    if (url.pathname.startsWith("/api/")) return deny(res, 404, "no such API route");
    if (!ui) return deny(res, 404, "the web UI is not served by this server (API only)");
    // Next reads the nonce from the request's CSP header and puts it on its inline scripts.
    req.headers["content-security-policy"] = csp;
    return ui.handle(req, res);
  };

  const serveApi = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const abort = new AbortController();
    res.once("close", () => abort.abort());
    let request: Request;
    try {
      request = await toFetchRequest(req, url, abort.signal);
    } catch (e) {
      if (e instanceof BodyTooLarge) return deny(res, 413, "request body too large");
      throw e;
    }
    const response = await fetchRequestHandler({
      endpoint: "/api/trpc",
      req: request,
      router: appRouter,
      createContext: () => ({ engine, jobs, autoRebuild, revokeSessions: () => creds.sessions.clear() }),
    });
    return sendFetchResponse(response, res);
  };

  const redirect = (res: ServerResponse, location: string) => {
    res.statusCode = 303;
    res.setHeader("Location", location);
    res.end();
  };

  /** POST /api/session {code | token, next}: a one-time code or the token for a session cookie, on the console's name only. */
  const signIn = async (req: IncomingMessage, res: ServerResponse, host: ParsedHost) => {
    if (!signinHosts.has(host.name)) return deny(res, 403, `sign in at ${consoleOrigin(host)}/signin`);
    if (!isSameOrigin(req.headers.origin, req.headers.host)) return deny(res, 403, "cross-origin request refused");
    let body: { token?: unknown; code?: unknown; next?: unknown } | null;
    try {
      body = JSON.parse((await readBody(req, 4096)).toString()) as typeof body;
    } catch {
      body = null;
    }
    if (typeof body !== "object" || body === null) return deny(res, 400, 'send JSON: {"token": "…"}');
    const session = creds.signIn(body);
    if ("error" in session) return deny(res, 401, session.error);
    res.setHeader("Set-Cookie", `${cookieName()}=${session.id}; HttpOnly; SameSite=Strict; Path=/`);
    res.setHeader("Content-Type", "application/json");
    // The key goes to the page alone: it keeps it where only this origin reads it (signin.ts).
    res.end(JSON.stringify({ next: safeNext(typeof body.next === "string" ? body.next : null), key: session.key }));
  };

  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer, viaSocket = false) => {
    // Every upgrade is answered at once and its socket closed: one left open is a file
    // descriptor held for as long as the client likes.
    const refuse = (status: string) => {
      socket.on("error", () => undefined);
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
    };
    const url = requestTarget(req.url);
    if (!url) return refuse("400 Bad Request");
    if (!viaSocket) {
      const hostCheck = checkHost(req.headers.host, allowedHosts);
      if (!hostCheck.ok) return refuse(hostCheck.status === 400 ? "400 Bad Request" : "421 Misdirected Request");
    }
    const m = /^\/api\/term\/(serial|ssh)\/([^/]+)$/.exec(url.pathname);
    const auth = viaSocket ? "socket" : creds.authOf(req, url, !!m);
    if (!auth) return refuse("401 Unauthorized");
    if (!m) {
      // Next's own upgrades (hot reload) exist only in dev mode.
      if (opts.dev && ui && originOk(req, auth)) return void ui.upgrade(req, socket, head);
      return refuse("404 Not Found");
    }
    if (!originOk(req, auth)) return refuse("403 Forbidden");
    const [, kind, name] = m;
    if (!name || !vmNameSchema.safeParse(name).success) return refuse("400 Bad Request");
    wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = new TerminalConnection(ws);
      const cols = Number(url.searchParams.get("cols")) || 80;
      const rows = Number(url.searchParams.get("rows")) || 24;
      const session = kind === "serial" ? serveSerial(conn, engine, name) : serveSsh(conn, engine, name, { cols, rows });
      void session.catch((e: unknown) => conn.fail(e instanceof Error ? e.message : String(e)));
    });
  };

  const limits = deadlineOptions(opts.deadlines ?? DEFAULT_DEADLINES);
  const server = http.createServer(limits, (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) deny(res, 500, "internal error");
      else res.destroy();
    });
  });
  server.on("upgrade", onUpgrade);
  limitSilentConnections(server);

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address();
  port = typeof addr === "object" && addr ? addr.port : opts.port;

  const local = opts.socket
    ? http.createServer(limits, (req, res) => void handle(req, res, true).catch(() => (res.headersSent ? res.destroy() : deny(res, 500, "internal error"))))
    : undefined;
  if (local && opts.socket) {
    local.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => onUpgrade(req, socket, head, true));
    try {
      await listenPrivateSocket(local, opts.socket);
    } catch (e) {
      server.close();
      throw e;
    }
  }

  if (opts.ui) ui = await loadNext({ dev: opts.dev, port });

  const shownHost = opts.host === "0.0.0.0" || opts.host === "::" ? "127.0.0.1" : opts.host.includes(":") ? `[${opts.host}]` : opts.host;
  const signinUrl = () => `http://${consoleHost}:${port}/signin#code=${creds.codes.create()}`;
  return {
    get url() {
      return signinUrl();
    },
    apiOrigin: `http://${shownHost}:${port}`,
    port,
    get token() {
      return creds.token;
    },
    rotate: () => {
      creds.rotate();
      return signinUrl();
    },
    close: async () => {
      autoRebuild.closeAll();
      for (const c of wss.clients) c.terminate();
      server.closeAllConnections();
      local?.closeAllConnections();
      await Promise.all([server, ...(local ? [local] : [])].map((s) => new Promise<void>((r) => s.close(() => r()))));
      // Node removes the socket file on close; a crash leaves it, and the next start replaces it.
    },
  };
}
