import { describe, expect, it } from "vitest";
import { progressTotal } from "../../engine/disk/progress.js";
import { formatProgress, formatPullProgress } from "./progress.js";

describe("formatProgress", () => {
  it("draws a bar with the percentage and MiB written", () => {
    expect(formatProgress({ step: "writing", bytes: 150 * 2 ** 20, totalBytes: 300 * 2 ** 20 })).toBe(
      `writing [${"#".repeat(10)}${" ".repeat(10)}] 50% (150/300 MiB)`,
    );
  });

  describe("progressTotal", () => {
    it("grows the estimate with the writes, so a line never reads 427/356 MiB", () => {
      expect(progressTotal(356, 100)).toBe(356);
      expect(progressTotal(356, 427)).toBe(427);
      expect(formatProgress({ step: "writing", bytes: 427 * 2 ** 20, totalBytes: progressTotal(356 * 2 ** 20, 427 * 2 ** 20) })).toMatch(
        /100% \(427\/427 MiB\)$/,
      );
    });
  });
  it("shows bare steps as they are", () => {
    expect(formatProgress({ step: "mounting the image" })).toBe("mounting the image");
  });

  describe("progressTotal", () => {
    it("grows the estimate with the writes, so a line never reads 427/356 MiB", () => {
      expect(progressTotal(356, 100)).toBe(356);
      expect(progressTotal(356, 427)).toBe(427);
      expect(formatProgress({ step: "writing", bytes: 427 * 2 ** 20, totalBytes: progressTotal(356 * 2 ** 20, 427 * 2 ** 20) })).toMatch(
        /100% \(427\/427 MiB\)$/,
      );
    });
  });
});

describe("progressTotal", () => {
  it("grows the estimate with the writes, so a line never reads 427/356 MiB", () => {
    expect(progressTotal(356, 100)).toBe(356);
    expect(progressTotal(356, 427)).toBe(427);
    expect(formatProgress({ step: "writing", bytes: 427 * 2 ** 20, totalBytes: progressTotal(356 * 2 ** 20, 427 * 2 ** 20) })).toMatch(
      /100% \(427\/427 MiB\)$/,
    );
  });
});

describe("formatPullProgress", () => {
  it("shows layers, and a bar once bytes are known", () => {
    expect(formatPullProgress({ layers: 2, layersDone: 0, bytes: 0, totalBytes: 0 })).toBe("0/2 layers");
    expect(formatPullProgress({ layers: 2, layersDone: 1, bytes: 50 * 2 ** 20, totalBytes: 100 * 2 ** 20 })).toBe(
      "1/2 layers [##########          ] 50% (50/100 MiB)",
    );
  });
});
