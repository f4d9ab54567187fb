/**
 * A browser session is two secrets: an id in an HttpOnly cookie, and a key the page holds.
 * Cookies ignore ports, so any server on the console's host name receives the cookie; the
 * key stays in this origin's localStorage (port included) and goes only where the page
 * sends it. Every API call and terminal socket carries it (docs/api.md, "Security model").
 */

/** Where the sign-in page leaves the key for the console's pages. */
export const SESSION_KEY_STORAGE = "bootc-session-key";
/** How fetches carry it. */
export const SESSION_KEY_HEADER = "x-bootc-session-key";
/** How GETs that cannot set headers carry it: EventSource (subscriptions) and WebSocket. */
export const SESSION_KEY_PARAM = "sessionKey";
