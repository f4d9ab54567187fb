import { describe, expect, it } from "vitest";
import { bootIdOf } from "./insight.js";

describe("bootIdOf", () => {
  it("tells a soft reboot's boot from the boot before it: its switch starts a new boot", () => {
    const cold = [
      { event: "created", at: "2026-12-03T18:00:00.000Z" },
      { event: "ssh-ready", at: "2026-12-03T18:02:00.000Z" },
    ];
    const soft = [
      { event: "build-started", at: "2026-12-03T18:10:00.000Z" },
      { event: "build-finished", at: "2026-12-03T18:10:20.000Z" },
      { event: "soft-reboot", at: "2026-12-03T18:10:25.000Z" },
    ];
    expect(bootIdOf({ timeline: cold })).toBe("2026-12-03T18:00:00.000Z");
    expect(bootIdOf({ timeline: soft })).toBe("2026-12-03T18:10:25.000Z");
    expect(bootIdOf({ timeline: [] })).toBeUndefined();
  });
});
