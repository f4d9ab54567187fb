import { describe, expect, it } from "vitest";
import { ignoreMatcher } from "./ignore.js";

describe("ignoreMatcher", () => {
  it("follows .containerignore rules", () => {
    const ignored = ignoreMatcher(["# comment", "*.log", "build/", "docs/**/*.md", "!docs/keep.md", "/secret"]);
    expect(ignored("x.log")).toBe(true);
    expect(ignored("sub/x.log")).toBe(false); // * does not cross directories
    expect(ignored("build/out/a.o")).toBe(true);
    expect(ignored("docs/a/b.md")).toBe(true);
    expect(ignored("docs/b.md")).toBe(true); // ** matches zero directories too
    expect(ignored("docs/keep.md")).toBe(false);
    expect(ignored("secret")).toBe(true);
    expect(ignored("Containerfile")).toBe(false);
  });
});
