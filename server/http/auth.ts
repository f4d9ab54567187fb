/**
 * Who may come in, and how each proves it (docs/api.md, "Security model"):
 *  - "bearer": the token (worth root), as scripts send it;
 *  - "session": a browser session's cookie and its page's key, both of one live session —
 *    what every API call and terminal socket from a browser needs;
 *  - "page": the cookie alone, which loads the console's pages (they carry no data; the
 *    data comes over the API). Cookies ignore ports: a server on another port of the
 *    console's host name — a guest's forwarded web server — receives the cookie, never the key;
 *  - "socket": the private unix socket (unix-socket.ts).
 * A one-time code from the printed link, or the token, signs a browser in.
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { SESSION_KEY_HEADER, SESSION_KEY_PARAM } from "../protocol/session-key.js";
import { bearerToken, readCookie, tokensEqual } from "./security.js";
import { SecretSet, Sessions } from "./sessions.js";

export type Auth = "bearer" | "session" | "page" | "socket";

export class Credentials {
  readonly sessions = new Sessions();
  readonly codes = new SecretSet(24);

  constructor(
    public token: string,
    private readonly cookieName: () => string,
  ) {}

  /** `api`: an API call or a terminal socket, which a browser's cookie alone does not open. */
  authOf(req: IncomingMessage, url: URL, api: boolean): Auth | undefined {
    if (tokensEqual(bearerToken(req.headers.authorization), this.token)) return "bearer";
    const id = readCookie(req.headers.cookie, this.cookieName());
    if (!this.sessions.has(id)) return undefined;
    if (!api) return "page";
    return this.sessions.matches(id, sessionKeyOf(req, url)) ? "session" : undefined;
  }

  /** A one-time code or the token buys a new session; anything else gets why not. */
  signIn(body: { token?: unknown; code?: unknown }): { id: string; key: string } | { error: string } {
    if (typeof body.code === "string") {
      if (!this.codes.use(body.code)) return { error: "this sign-in link was used already (each works once): paste the token bootc serve printed" };
    } else if (typeof body.token !== "string" || !tokensEqual(body.token, this.token)) {
      return { error: "invalid token: paste the token bootc serve printed" };
    }
    return this.sessions.create();
  }

  /** A new token; every session and unused sign-in code ended. */
  rotate(): void {
    this.token = randomBytes(32).toString("base64url");
    this.sessions.clear();
    this.codes.clear();
  }
}

/** A header on fetches; the query on GETs, since EventSource and WebSocket cannot set headers. */
function sessionKeyOf(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers[SESSION_KEY_HEADER];
  if (typeof header === "string") return header;
  return req.method === "GET" ? (url.searchParams.get(SESSION_KEY_PARAM) ?? undefined) : undefined;
}
