"use client";
/**
 * The page's half of its browser session (server/protocol/session-key.ts): the key the
 * sign-in page left in this origin's storage. API calls and terminal sockets carry it
 * besides the cookie, which alone opens no API.
 */
import { SESSION_KEY_PARAM, SESSION_KEY_STORAGE } from "../../server/protocol/session-key";

/** "" if there is none: the server then answers 401 and the console goes to sign in. */
export function sessionKey(): string {
  try {
    return localStorage.getItem(SESSION_KEY_STORAGE) ?? "";
  } catch {
    return "";
  }
}

/** A URL carrying the key, for what cannot send headers (EventSource, WebSocket). */
export function withSessionKey(url: string): string {
  return `${url}${url.includes("?") ? "&" : "?"}${SESSION_KEY_PARAM}=${encodeURIComponent(sessionKey())}`;
}
