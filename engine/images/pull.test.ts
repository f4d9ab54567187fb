import { describe, expect, it } from "vitest";
import { isQualified, LayerTally } from "./pull.js";

describe("pulls", () => {
  it("goes through the registry API only for a reference that names its registry", () => {
    expect(isQualified("quay.io/fedora/fedora-bootc:42")).toBe(true);
    expect(isQualified("127.0.0.1:5000/demo:1")).toBe(true);
    expect(isQualified("localhost/bootc-demo")).toBe(true);
    // Short names are podman's to resolve (registries.conf aliases and search order).
    expect(isQualified("fedora-bootc:42")).toBe(false);
    expect(isQualified("fedora/fedora-bootc")).toBe(false);
  });

  it("folds per-layer events into one figure, and names each step once", () => {
    const t = new LayerTally();
    expect(t.take({ status: "Pulling fs layer", id: "a" })).toBe("a: Pulling fs layer");
    expect(t.take({ status: "Pulling fs layer", id: "b" })).toBe("b: Pulling fs layer");
    expect(t.take({ status: "Downloading", id: "a", progressDetail: { current: 10, total: 100 } })).toBeUndefined();
    expect(t.take({ status: "Already exists", id: "b" })).toBe("b: Already exists");
    expect(t.progress).toEqual({ layers: 2, layersDone: 1, bytes: 10, totalBytes: 100 });
    t.take({ status: "Downloading", id: "a", progressDetail: { current: 60, total: 100 } });
    expect(t.progress.bytes).toBe(60);
    expect(t.take({ status: "Download complete", id: "a", progressDetail: {} })).toBe("a: Download complete");
    expect(t.progress).toEqual({ layers: 2, layersDone: 2, bytes: 100, totalBytes: 100 });
  });
});
