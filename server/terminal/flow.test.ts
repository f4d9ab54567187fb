import { describe, expect, it } from "vitest";
import { FlowControl } from "./flow.js";

describe("FlowControl", () => {
  it("pauses at the high watermark and resumes at the low one", () => {
    const calls: string[] = [];
    const flow = new FlowControl(
      () => calls.push("pause"),
      () => calls.push("resume"),
      100,
      20,
    );
    flow.sent(60);
    expect(calls).toEqual([]);
    flow.sent(60);
    expect(calls).toEqual(["pause"]);
    flow.sent(50); // still paused: no second pause
    flow.acked(100);
    expect(calls).toEqual(["pause"]); // 70 pending > 20
    flow.acked(60);
    expect(calls).toEqual(["pause", "resume"]);
    expect(flow.pending).toBe(10);
  });

  it("never counts below zero", () => {
    const flow = new FlowControl(
      () => undefined,
      () => undefined,
      100,
      20,
    );
    flow.acked(1000);
    expect(flow.pending).toBe(0);
  });
});
