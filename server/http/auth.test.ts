import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { Credentials } from "./auth.js";

const req = (headers: Record<string, string>, method = "GET") => ({ headers, method }) as unknown as IncomingMessage;
const url = (path: string) => new URL(`http://localhost${path}`);

describe("who may come in", () => {
  const creds = new Credentials("t0ken", () => "bootc_session_8080");
  const signedIn = () => {
    const s = creds.signIn({ token: "t0ken" });
    if ("error" in s) throw new Error(s.error);
    return s;
  };

  it("a session cookie alone loads pages, never the API or a terminal: those need its page's key too", () => {
    const { id, key } = signedIn();
    const cookie = { cookie: `bootc_session_8080=${id}` };
    expect(creds.authOf(req(cookie), url("/vms"), false)).toBe("page");
    expect(creds.authOf(req(cookie), url("/api/trpc/vms.list"), true)).toBeUndefined();
    expect(creds.authOf(req({ ...cookie, "x-bootc-session-key": key }), url("/api/trpc/vms.list"), true)).toBe("session");
    expect(creds.authOf(req({ ...cookie, "x-bootc-session-key": key }, "POST"), url("/api/trpc/vms.stop"), true)).toBe("session");
    // EventSource and WebSocket carry it in the query; a POST may not.
    expect(creds.authOf(req(cookie), url(`/api/trpc/vms.changes?sessionKey=${key}`), true)).toBe("session");
    expect(creds.authOf(req(cookie, "POST"), url(`/api/trpc/vms.stop?sessionKey=${key}`), true)).toBeUndefined();
    // The key without the cookie is nothing either.
    expect(creds.authOf(req({ "x-bootc-session-key": key }), url("/api/trpc/vms.list"), true)).toBeUndefined();
  });

  it("a key opens only its own session", () => {
    const a = signedIn();
    const b = signedIn();
    expect(creds.authOf(req({ cookie: `bootc_session_8080=${a.id}`, "x-bootc-session-key": b.key }), url("/api/trpc/vms.list"), true)).toBeUndefined();
    expect(creds.authOf(req({ cookie: `bootc_session_8080=${a.id}`, "x-bootc-session-key": a.key }), url("/api/trpc/vms.list"), true)).toBe("session");
  });

  it("the token works as a bearer; a code signs in once; rotating ends sessions, codes and the old token", () => {
    expect(creds.authOf(req({ authorization: "Bearer t0ken" }), url("/api/trpc/vms.list"), true)).toBe("bearer");
    expect(creds.signIn({ token: "wrong" })).toEqual({ error: expect.stringMatching(/^invalid token/) });
    const code = creds.codes.create();
    expect(creds.signIn({ code })).toHaveProperty("key");
    expect(creds.signIn({ code })).toEqual({ error: expect.stringMatching(/used already/) });
    const { id, key } = signedIn();
    const unused = creds.codes.create();
    creds.rotate();
    expect(creds.token).not.toBe("t0ken");
    expect(creds.authOf(req({ authorization: "Bearer t0ken" }), url("/api/trpc/vms.list"), true)).toBeUndefined();
    expect(creds.authOf(req({ cookie: `bootc_session_8080=${id}`, "x-bootc-session-key": key }), url("/"), false)).toBeUndefined();
    expect(creds.signIn({ code: unused })).toHaveProperty("error");
  });
});
