import { describe, expect, it } from "vitest";
import { bearerToken, isAllowedHost, isSameOrigin, readCookie, tokensEqual } from "./security.js";

describe("request safety rules", () => {
  it("allows loopback names on any port, and configured names", () => {
    for (const h of ["localhost:3000", "127.0.0.1:8080", "[::1]:9", "app.localhost:1", "LOCALHOST"]) expect(isAllowedHost(h), h).toBe(true);
    for (const h of ["evil.example:3000", "127.0.0.1.evil.example", "192.168.1.5:3000", "", undefined]) expect(isAllowedHost(h), String(h)).toBe(false);
    expect(isAllowedHost("devbox:8080", ["devbox"])).toBe(true);
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
