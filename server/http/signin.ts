/**
 * The sign-in page, served by the HTTP server itself (it works with --api-only too).
 *
 * `bootc serve` prints http://<console name>:PORT/signin#code=…: a one-time code, never the
 * token — browsers keep every visited URL, fragment included, in their history database.
 * The fragment is never sent over the network; the page removes it from the address bar,
 * posts the code to /api/session, which answers with a session cookie (a session id, not
 * the token) and, in its body, the session's key: the page keeps that in localStorage —
 * this origin's alone, port included — for the console's API calls and terminals (cookies
 * ignore ports; see server/protocol/session-key.ts). Then it replaces itself with the console. Without a code, or with a used one, it
 * offers a field to paste the token (a POST: it appears in no URL).
 * Its script is a file of this origin, so the CSP needs no inline script for it.
 */
import { SESSION_KEY_STORAGE } from "../protocol/session-key.js";

/** Where to go after signing in: a path on this origin, nothing else. */
export function safeNext(next: string | null): string {
  return next && /^\/(?![/\\])[\x21-\x7e]*$/.test(next) ? next : "/";
}

export const SIGNIN_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Sign in · bootc console</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 34rem; margin: 4rem auto; padding: 0 1rem; }
input { width: 100%; padding: .4rem; font: inherit; box-sizing: border-box; }
button { margin-top: .8rem; padding: .4rem 1rem; font: inherit; }
#error { color: #a30000; min-height: 1.5em; }
</style>
<script src="/signin.js" defer></script>
</head>
<body>
<main>
<h1>Sign in to bootc console</h1>
<p>Paste the token that <code>bootc serve</code> printed. (Its sign-in link works once.)</p>
<form id="signin">
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="off" required>
<button type="submit">Sign in</button>
</form>
<p id="error" role="alert"></p>
</main>
</body>
</html>
`;

export const SIGNIN_JS = `"use strict";
(function () {
  var params = new URLSearchParams(location.search);
  var next = params.get("next") || "/";
  var code = new URLSearchParams(location.hash.slice(1)).get("code");
  // The code leaves the address bar and this history entry before anything else happens.
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  function signIn(secret) {
    var error = document.getElementById("error");
    if (error) error.textContent = "";
    fetch("/api/session", { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" }, body: JSON.stringify(Object.assign({ next: next }, secret)) })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (r) {
        if (r.ok) {
          localStorage.setItem(${JSON.stringify(SESSION_KEY_STORAGE)}, r.body.key);
          location.replace(r.body.next);
          return;
        }
        if (error) error.textContent = (r.body && r.body.error && r.body.error.message) || "Sign-in failed.";
      })
      .catch(function () { if (error) error.textContent = "The server did not answer: is bootc serve still running?"; });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.getElementById("signin").addEventListener("submit", function (e) {
      e.preventDefault();
      signIn({ token: document.getElementById("token").value.trim() });
    });
    if (code) signIn({ code: code });
  });
})();
`;
