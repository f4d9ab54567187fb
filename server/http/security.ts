/**
 * Request safety rules, as pure functions (unit-tested one by one):
 *  - Host allowlist: loopback names on any port plus configured names (DNS rebinding).
 *  - Same-origin check: Origin must be exactly http://<Host> (CSRF, websocket hijacking).
 *  - Constant-time token comparison.
 *  - A session cookie per port (cookies ignore ports, two servers must not clash), read
 *    with the `cookie` library; a cookie that does not decode is ignored, never fatal.
 *  - A CSP whose scripts carry a per-response nonce (no 'unsafe-inline' scripts).
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { parse as parseCookieHeader } from "cookie";

const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Splits "name:port" / "[v6]:port" and lower-cases the name. */
export function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  return h.split(":")[0] ?? "";
}

/** The port of a Host header ("name:port", "[v6]:port"), if it names one. */
export function hostPort(host: string | undefined): number | undefined {
  const m = /:(\d{1,5})$/.exec((host ?? "").trim());
  return m ? Number(m[1]) : undefined;
}

export function isAllowedHost(host: string | undefined, extra: readonly string[] = []): boolean {
  if (!host) return false;
  const name = hostName(host);
  return LOOPBACK_NAMES.has(name) || name.endsWith(".localhost") || extra.map((e) => e.toLowerCase()).includes(name);
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
