/**
 * Request safety rules, as pure functions (unit-tested one by one):
 *  - Host allowlist: loopback names on any port plus configured names (DNS rebinding).
 *  - Same-origin check: Origin must be exactly http://<Host> (CSRF, websocket hijacking).
 *  - Constant-time token comparison.
 *  - A session cookie per port (cookies ignore ports, two servers must not clash).
 */
import { createHash, timingSafeEqual } from "node:crypto";

const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Splits "name:port" / "[v6]:port" and lower-cases the name. */
export function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  return h.split(":")[0] ?? "";
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

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(header ?? "");
  return m?.[1];
}

/** Headers on every response. Next's app router needs inline scripts for hydration. */
export const SECURITY_HEADERS: Record<string, string> = {
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
};

export const MAX_BODY_BYTES = 1024 * 1024;
