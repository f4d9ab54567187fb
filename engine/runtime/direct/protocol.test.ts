import { describe, expect, it } from "vitest";
import { parseMonitorRequest } from "./protocol.js";

describe("parseMonitorRequest", () => {
  it("accepts a soft reboot into an image with a digest", () => {
    const req = { op: "soft-reboot", image: { ref: "localhost/x:latest", id: "a".repeat(64) }, timelinePrefix: [{ event: "build-started", at: "t" }] };
    expect(parseMonitorRequest(JSON.stringify(req))).toEqual(req);
    expect(parseMonitorRequest(JSON.stringify({ ...req, image: { ref: "x", id: "not-a-digest" } }))).toBeUndefined();
    expect(parseMonitorRequest(JSON.stringify({ op: "soft-reboot" }))).toBeUndefined();
  });

  it("accepts the three requests the clients send", () => {
    expect(parseMonitorRequest('{"op":"events"}')).toEqual({ op: "events" });
    expect(parseMonitorRequest('{"op":"console"}')).toEqual({ op: "console" });
    expect(parseMonitorRequest('{"op":"stop","force":true,"timeoutSec":5,"reboot":false}')).toEqual({ op: "stop", force: true, timeoutSec: 5, reboot: false });
  });

  it("accepts a snapshot request only with a plain tag", () => {
    expect(parseMonitorRequest('{"op":"snapshot","action":"save","tag":"live.1"}')).toEqual({ op: "snapshot", action: "save", tag: "live.1" });
    expect(parseMonitorRequest('{"op":"snapshot","action":"save","tag":"a/b"}')).toBeUndefined();
    expect(parseMonitorRequest('{"op":"snapshot","action":"apply","tag":"x"}')).toBeUndefined();
  });

  it("refuses anything else instead of throwing", () => {
    for (const line of [
      "null",
      "42",
      '"stop"',
      "[]",
      "{}",
      '{"op":null}',
      '{"op":"rm"}',
      '{"op":"stop","force":"yes"}',
      '{"op":"stop","timeoutSec":-1}',
      '{"op":"events","x":1}',
      "{",
      "",
    ]) {
      expect(parseMonitorRequest(line), line).toBeUndefined();
    }
  });
});
