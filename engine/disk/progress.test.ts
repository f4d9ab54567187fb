import { describe, expect, it } from "vitest";
import { formatProgress } from "./progress.js";

describe("formatProgress", () => {
  it("draws a bar with the percentage and MiB written", () => {
    expect(formatProgress({ step: "writing", bytes: 150 * 2 ** 20, totalBytes: 300 * 2 ** 20 })).toBe(`writing [${"#".repeat(10)}${" ".repeat(10)}] 50% (150/300 MiB)`);
  });
  it("stops at full when the writes pass the estimate, and shows bare steps as they are", () => {
    expect(formatProgress({ step: "writing", bytes: 424 * 2 ** 20, totalBytes: 356 * 2 ** 20 })).toMatch(/\[#{20}\] 100% \(424\/356 MiB\)$/);
    expect(formatProgress({ step: "mounting the image" })).toBe("mounting the image");
  });
});
