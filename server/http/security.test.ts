import { describe, expect, it } from "vitest";
import { allowedHostNames, bearerToken, checkHost, isSameOrigin, parseHost, readCookie, requestTarget, tokensEqual } from "./security.js";

describe("request safety rules", () => {
  const allowed = allowedHostNames("bootc-1a2b.localhost", ["devbox"]);
  const status = (host: string | undefined) => {
    const c = checkHost(host, allowed);
    return c.ok ? 200 : c.status;
  };

  it("allows loopback names, the console's own name and configured names, on any port", () => {
    for (const h of [
      "localhost:3000",
      "127.0.0.1:8080",
      "[::1]:9",
      "bootc-1a2b.localhost:1",
      "BOOTC-1A2B.localhost",
      "LOCALHOST",
      "localhost",
      "devbox:8080",
      "127.0.0.1:65535",
    ])
      expect(status(h), h).toBe(200);
    expect(parseHost("Bootc-1A2B.localhost:0080")).toEqual({ name: "bootc-1a2b.localhost", port: 80 });
    expect(parseHost("[::1]")).toEqual({ name: "[::1]" });
  });

  it("answers 421 for a well-formed name that is not this server's (DNS rebinding)", () => {
    for (const h of [
      "evil.example:3000",
      "127.0.0.1.evil.example",
      "192.168.1.5:3000",
      "app.localhost:1",
      "bootc-1a2b.localhost.evil.example",
      "127.0.0.2",
      "[::2]:1",
      "[::ffff:127.0.0.1]",
      "localhost.localdomain",
    ]) {
      expect(status(h), h).toBe(421);
    }
  });

  it("answers 400 for every Host that is not exactly hostname[:port]", () => {
    const hostile = [
      "evil.com#.localhost",
      "evil.com#.localhost:80",
      "evil.com\\.localhost",
      "evil.com/.localhost",
      "evil.com?.localhost",
      "localhost:3000@evil",
      "user@localhost",
      "localhost:abc",
      "localhost:99999",
      "localhost:0",
      "localhost:",
      ":80",
      "localhost:1:2",
      "[::1",
      "::1",
      "[::1]x",
      "[::1]:",
      "a b.localhost",
      " localhost",
      "localhost ",
      "localhost.",
      ".localhost",
      "-x.localhost",
      "x-.localhost",
      "x..localhost",
      "localhost\t",
      "localhost%00",
      "lo\u0000calhost",
      "xn--é.localhost",
      `${"a".repeat(64)}.localhost`,
      `${"a.".repeat(140)}localhost`,
      "http://localhost",
      "localhost/",
      "",
      undefined,
    ];
    for (const h of hostile) expect(status(h), JSON.stringify(h)).toBe(400);
  });

  it("takes only a path as the request target", () => {
    expect(requestTarget("/api/trpc/vms.list?input=%7B%7D")?.pathname).toBe("/api/trpc/vms.list");
    expect(requestTarget("//evil.example/api/trpc")?.pathname).toBe("//evil.example/api/trpc");
    for (const t of ["http://evil.example/", "*", "", undefined, "api"]) expect(requestTarget(t), String(t)).toBeUndefined();
  });

  it("accepts only the exact same origin", () => {
    expect(isSameOrigin("http://127.0.0.1:8080", "127.0.0.1:8080")).toBe(true);
    expect(isSameOrigin("http://127.0.0.1:8081", "127.0.0.1:8080")).toBe(false);
    expect(isSameOrigin("http://evil.example", "127.0.0.1:8080")).toBe(false);
    expect(isSameOrigin("null", "127.0.0.1:8080")).toBe(false);
    expect(isSameOrigin(undefined, "127.0.0.1:8080")).toBe(false);
  });

  it("compares tokens", () => {
    expect(tokensEqual("abc", "abc")).toBe(true);
    expect(tokensEqual("abd", "abc")).toBe(false);
    expect(tokensEqual("", "abc")).toBe(false);
    expect(tokensEqual(undefined, "abc")).toBe(false);
  });

  it("reads cookies and bearer headers", () => {
    expect(readCookie("a=1; bootc_session_8080=xyz", "bootc_session_8080")).toBe("xyz");
    // A cookie that does not decode (set by any page on another 127.0.0.1 port) is ignored, not fatal.
    expect(readCookie("x=%; bootc_session_8080=xyz; y=%E0%A4%A", "bootc_session_8080")).toBe("xyz");
    expect(readCookie("x=%", "bootc_session_8080")).toBeUndefined();
    expect(readCookie(undefined, "bootc_session_8080")).toBeUndefined();
    expect(bearerToken("Bearer t0k")).toBe("t0k");
    expect(bearerToken("Basic t0k")).toBeUndefined();
  });
});
