import { describe, expect, it } from "vitest";
import { parseMonitorRequest } from "./protocol.js";

describe("parseMonitorRequest", () => {
  it("accepts the three requests the clients send", () => {
    expect(parseMonitorRequest('{"op":"events"}')).toEqual({ op: "events" });
    expect(parseMonitorRequest('{"op":"console"}')).toEqual({ op: "console" });
    expect(parseMonitorRequest('{"op":"stop","force":true,"timeoutSec":5,"reboot":false}')).toEqual({ op: "stop", force: true, timeoutSec: 5, reboot: false });
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
