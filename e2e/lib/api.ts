/**
 * A small client for bootc-console's HTTP API, as a script would write it: start
 * `bootc serve`, call tRPC procedures with the bearer token, read server-sent-event
 * subscriptions, and open terminal websockets. docs/api.md shows the same calls.
 */
import http from "node:http";
import { createTRPCClient, httpLink } from "@trpc/client";
import { execa, type ResultPromise } from "execa";
import type { AppRouter } from "../../server/api/router.js";
import WebSocket from "ws";
import { decodeServerFrame, encodeAck, encodeInput, encodeResize, type Control } from "../../server/protocol/frames.js";
import { CLI } from "./harness.js";

export interface Served {
  /** The sign-in link bootc serve printed (for one browser: its code works once). */
  url: string;
  /** The console's own origin (http://bootc-<id>.localhost:PORT), where a browser ends up. */
  consoleOrigin: string;
  /** http://127.0.0.1:PORT, for API calls with the bearer token. */
  origin: string;
  token: string;
  port: number;
  process: ResultPromise;
  /** Everything the server printed on stdout so far. */
  output(): string;
  stop(): Promise<void>;
}

/** How to start a `bootc` command (the rootless tests start it as another user). */
export type Launch = (args: string[]) => ResultPromise;
const asThisUser =
  (home: string): Launch =>
  (args) =>
    execa(process.execPath, [CLI, ...args], { env: { ...process.env, BOOTC_HOME: home }, reject: false, buffer: false });

export async function serve(home: string, extra: string[] = [], launch: Launch = asThisUser(home)): Promise<Served> {
  const child = launch(["serve", "--port", "0", "--no-open", ...extra]);
  let out = "";
  const [url, token] = await new Promise<[string, string]>((resolve, reject) => {
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const open = /Open: (\S+)/.exec(out)?.[1];
      const token = /Token: (\S+)/.exec(out)?.[1];
      if (open && token) resolve([open, token]);
    });
    void child.then((r) => reject(new Error(`bootc serve exited: ${r.exitCode} ${out}`)));
  });
  // The printed link is the browser's (the console's own host name, a one-time code);
  // scripts call the API on 127.0.0.1 with the token as a bearer.
  const u = new URL(url);
  return {
    url,
    consoleOrigin: u.origin,
    origin: `http://127.0.0.1:${u.port}`,
    token,
    port: Number(u.port),
    process: child,
    output: () => out,
    stop: async () => {
      child.kill("SIGTERM");
      await child;
    },
  };
}

/**
 * Opens the printed sign-in link and waits until the console's page has loaded: the link
 * lands on the sign-in page, whose script then moves on to the console, so page.goto alone
 * returns before the console is there (and before its controls work).
 */
export async function openPrintedLink(page: import("@playwright/test").Page, s: Pick<Served, "url" | "consoleOrigin">): Promise<void> {
  await page.goto(s.url);
  await page.waitForURL(`${s.consoleOrigin}/`, { waitUntil: "load" });
}

/** Signs a browser page in the way a person does without the link: paste the token on the sign-in page. */
export async function signInWithToken(page: import("@playwright/test").Page, s: Pick<Served, "consoleOrigin" | "token">): Promise<void> {
  await page.goto(`${s.consoleOrigin}/signin`);
  await page.getByLabel("Token").fill(s.token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${s.consoleOrigin}/`, { waitUntil: "load" });
}

/** A request with the headers a browser would send (fetch() cannot set Host or Cookie). */
export function rawRequest(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, method: opts.method ?? "GET", headers: opts.headers ?? {} }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

/**
 * Signs in with the token as the sign-in page does; returns the session cookie ("name=value")
 * and the session key the page keeps, and `headers`: what a browser's API call on the
 * console's origin carries (the key as the page's fetches send it).
 */
export async function signIn(s: Pick<Served, "port" | "consoleOrigin" | "token">): Promise<{ cookie: string; key: string; headers: Record<string, string> }> {
  const host = new URL(s.consoleOrigin).host;
  const r = await rawRequest(s.port, "/api/session", {
    method: "POST",
    body: JSON.stringify({ token: s.token }),
    headers: { Host: host, Origin: s.consoleOrigin, "Content-Type": "application/json" },
  });
  if (r.status !== 200) throw new Error(`sign-in failed: ${r.status} ${r.body}`);
  const cookie = String(r.headers["set-cookie"]).split(";")[0]!;
  const { key } = JSON.parse(r.body) as { key: string };
  return { cookie, key, headers: { Host: host, Origin: s.consoleOrigin, Cookie: cookie, "X-Bootc-Session-Key": key } };
}

/**
 * The API as a script in TypeScript would call it: a tRPC client typed by the router, so a
 * wrong procedure name or input fails to compile. Bearer token; queries and mutations (the
 * server-sent-event subscriptions are read by api().subscribe: Node has no EventSource).
 */
export function client(s: Pick<Served, "origin" | "token">) {
  return createTRPCClient<AppRouter>({ links: [httpLink({ url: `${s.origin}/api/trpc`, headers: { Authorization: `Bearer ${s.token}` } })] });
}

/** Raw HTTP calls of procedures by name, for tests of the HTTP surface itself (status codes, error bodies). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}: ${JSON.stringify(body)}`);
  }
}

export function api(s: Pick<Served, "origin" | "token">) {
  const headers = { Authorization: `Bearer ${s.token}` };
  return {
    async query<T>(path: string, input?: unknown): Promise<T> {
      const q = input === undefined ? "" : `?input=${encodeURIComponent(JSON.stringify(input))}`;
      const r = await fetch(`${s.origin}/api/trpc/${path}${q}`, { headers });
      const body = (await r.json()) as { result?: { data: T }; error?: unknown };
      if (!r.ok) throw new ApiError(r.status, body.error);
      return body.result!.data;
    },
    async mutate<T>(path: string, input?: unknown): Promise<T> {
      const r = await fetch(`${s.origin}/api/trpc/${path}`, {
        method: "POST",
        headers: { ...headers, "Content-Type": "application/json" },
        body: JSON.stringify(input ?? null),
      });
      const body = (await r.json()) as { result?: { data: T }; error?: unknown };
      if (!r.ok) throw new ApiError(r.status, body.error);
      return body.result!.data;
    },
    /** Reads a subscription (server-sent events) and calls `onData` until it returns true. */
    async subscribe<T>(path: string, input: unknown, onData: (data: T) => boolean | void, timeoutMs = 600_000): Promise<void> {
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), timeoutMs);
      try {
        const r = await fetch(`${s.origin}/api/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`, { headers, signal: abort.signal });
        if (!r.ok || !r.body) throw new ApiError(r.status, await r.text());
        const decoder = new TextDecoder();
        let buf = "";
        for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
          buf += decoder.decode(chunk, { stream: true });
          let sep;
          while ((sep = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, sep);
            buf = buf.slice(sep + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = block
              .split("\n")
              .filter((l) => l.startsWith("data: "))
              .map((l) => l.slice(6))
              .join("\n");
            if (event === "serialized-error") throw new Error(`subscription ${path} failed: ${data}`);
            if (event || !data) continue; // connected, ping, return
            if (onData(JSON.parse(data) as T)) return;
          }
        }
      } finally {
        clearTimeout(timer);
        abort.abort();
      }
    },
  };
}

/** A terminal websocket client that records output and controls, and can withhold acks. */
export class Terminal {
  output = Buffer.alloc(0);
  controls: Control[] = [];
  closed = false;
  private constructor(
    readonly ws: WebSocket,
    private autoAck: boolean,
  ) {
    ws.on("message", (data: Buffer) => {
      const f = decodeServerFrame(new Uint8Array(data));
      if (f?.type === "output") {
        this.output = Buffer.concat([this.output, Buffer.from(f.data)]);
        if (this.autoAck) ws.send(encodeAck(f.data.length));
      } else if (f?.type === "control") this.controls.push(f.control);
    });
    ws.on("close", () => (this.closed = true));
  }

  static open(s: Pick<Served, "origin" | "token">, path: string, opts: { origin?: string; token?: string | null; autoAck?: boolean } = {}): Promise<Terminal> {
    const headers: Record<string, string> = {};
    const token = opts.token === undefined ? s.token : opts.token;
    if (token) headers.Authorization = `Bearer ${token}`;
    const ws = new WebSocket(`${s.origin.replace("http", "ws")}${path}`, { headers, ...(opts.origin ? { origin: opts.origin } : {}) });
    return new Promise((resolve, reject) => {
      const t = new Terminal(ws, opts.autoAck ?? true);
      ws.once("open", () => resolve(t));
      ws.once("unexpected-response", (_req, res) => reject(new ApiError(res.statusCode ?? 0, "upgrade refused")));
      ws.once("error", reject);
    });
  }

  send(text: string): void {
    this.ws.send(encodeInput(new TextEncoder().encode(text)));
  }

  resize(cols: number, rows: number): void {
    this.ws.send(encodeResize(cols, rows));
  }

  text(): string {
    return this.output.toString("utf8");
  }

  async waitFor(pattern: RegExp, timeoutMs = 120_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(this.text());
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} in terminal output:\n${this.text().slice(-1500)}`);
      if (this.closed) throw new Error(`terminal closed before ${pattern}: ${JSON.stringify(this.controls)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  close(): void {
    this.ws.close();
  }
}
