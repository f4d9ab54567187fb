/**
 * Request safety rules, as pure functions (unit-tested one by one):
 *  - Host allowlist: exactly hostname[:port], the name being loopback, the console's own or
 *    a configured one, any port (DNS rebinding); the request target must be a path.
 *  - Same-origin check: Origin must be exactly http://<Host> (CSRF, websocket hijacking).
 *  - Constant-time token comparison.
 *  - A session cookie per port (cookies ignore ports, two servers must not clash), read
 *    with the `cookie` library; a cookie that does not decode is ignored, never fatal.
 *  - A CSP whose scripts carry a per-response nonce (no 'unsafe-inline' scripts).
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { parse as parseCookieHeader } from "cookie";

const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
/** hostname[:port]: a DNS name or IPv4 address, or a bracketed IPv6 address; nothing else (no "#", "@", "/", spaces, empty port). */
const HOST_RE = new RegExp(`^(${LABEL}(?:\\.${LABEL})*|\\[[0-9a-f:.]+\\])(?::(\\d{1,5}))?$`, "i");

export interface ParsedHost {
  /** Lower-cased; an IPv6 address keeps its brackets. */
  name: string;
  port?: number;
}

/** A Host header parsed strictly — exactly hostname[:port] — or undefined. */
export function parseHost(header: string | undefined): ParsedHost | undefined {
  if (!header || header.length > 260) return undefined;
  const m = HOST_RE.exec(header);
  if (!m?.[1]) return undefined;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { name: m[1].toLowerCase(), ...(port === undefined ? {} : { port }) };
}

/** The names a request may be addressed to: loopback, the console's own name, and --allow-host names. */
export function allowedHostNames(consoleHost: string, extra: readonly string[] = []): ReadonlySet<string> {
  return new Set(["localhost", "127.0.0.1", "[::1]", consoleHost, ...extra].map((h) => h.toLowerCase()));
}

export type HostCheck = { ok: true; host: ParsedHost } | { ok: false; status: 400 | 421; message: string };

/**
 * The Host allow-list (DNS rebinding): a malformed Host is a 400, a well-formed name this
 * server does not answer to a 421 (Misdirected Request).
 */
export function checkHost(header: string | undefined, allowed: ReadonlySet<string>): HostCheck {
  const host = parseHost(header);
  if (!host) return { ok: false, status: 400, message: "the Host header is not a host name with an optional port" };
  if (!allowed.has(host.name)) return { ok: false, status: 421, message: "host not allowed (bootc serve --allow-host NAME adds one)" };
  return { ok: true, host };
}

/** The request target as a URL; undefined unless it is a path (origin-form), so no request can name another authority. */
export function requestTarget(target: string | undefined): URL | undefined {
  if (!target?.startsWith("/")) return undefined;
  try {
    return new URL(`http://localhost${target}`);
  } catch {
    return undefined;
  }
}

/** Browsers send Origin on every websocket upgrade and POST; it must be this very origin. */
export function isSameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (!origin || !host) return false;
  return origin === `http://${host}` || origin === `https://${host}`;
}

export function tokensEqual(given: string | undefined, expected: string): boolean {
  if (!given) return false;
  // Hash both so the comparison takes the same time whatever the lengths.
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

export const sessionCookieName = (port: number) => `bootc_session_${port}`;

/** The value of one cookie, or undefined. Other cookies — malformed ones included — are never looked at. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  try {
    return parseCookieHeader(header)[name];
  } catch {
    return undefined;
  }
}

export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  return m?.[1];
}

export const newNonce = () => randomBytes(18).toString("base64");

/**
 * The CSP of a response. Scripts run only from this origin or with this response's nonce
 * (Next puts it on its own inline scripts when it finds it in the request's CSP header).
 * Styles keep 'unsafe-inline': PatternFly and xterm set style attributes.
 */
export function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** Headers on every response (the CSP is added per response, with its nonce). */
export const SECURITY_HEADERS: Record<string, string> = {
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
};

export const MAX_BODY_BYTES = 1024 * 1024;
