import { describe, expect, it } from "vitest";
import { decodeClientFrame, decodeServerFrame, encodeAck, encodeControl, encodeInput, encodeOutput, encodeResize } from "./frames.js";

describe("terminal frames", () => {
  it("round-trips every frame type", () => {
    expect(decodeClientFrame(encodeInput(new Uint8Array([104, 105])))).toEqual({ type: "input", data: new Uint8Array([104, 105]) });
    expect(decodeClientFrame(encodeResize(120, 40))).toEqual({ type: "resize", cols: 120, rows: 40 });
    expect(decodeClientFrame(encodeAck(70_000))).toEqual({ type: "ack", bytes: 70_000 });
    expect(decodeServerFrame(encodeOutput(new Uint8Array([1, 2])))).toEqual({ type: "output", data: new Uint8Array([1, 2]) });
    expect(decodeServerFrame(encodeControl({ type: "exit", reason: "stopped by the user" }))).toEqual({
      type: "control",
      control: { type: "exit", reason: "stopped by the user" },
    });
  });

  it("drops malformed frames", () => {
    expect(decodeClientFrame(new Uint8Array([0x01, 0, 80]))).toBeUndefined(); // short resize
    expect(decodeClientFrame(encodeResize(0, 40))).toBeUndefined();
    expect(decodeClientFrame(new Uint8Array([0x7f]))).toBeUndefined();
    expect(decodeServerFrame(new Uint8Array([0x11, 0x7b]))).toBeUndefined(); // "{" is not JSON
  });
});
