import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { recipeForArch } from "./arch-recipe.js";

const recipe = readFileSync(new URL("./recipe.sh", import.meta.url), "utf8");

describe("recipeForArch", () => {
  it("leaves the x86_64 recipe byte-identical (its bytes are the demo's cache key)", () => {
    expect(recipeForArch(recipe, "x86_64")).toBe(recipe);
  });

  it("names arm64 for debootstrap and the kernel package, and nothing else changes", () => {
    const arm = recipeForArch(recipe, "aarch64");
    expect(arm).toContain("debootstrap --arch=arm64 --variant=minbase");
    expect(arm).toContain("linux-image-arm64");
    expect(arm).not.toContain("linux-image-amd64");
    expect(arm.replace("--arch=arm64 ", "").replace("linux-image-arm64", "linux-image-amd64")).toBe(recipe);
  });

  it("refuses a recipe where the architecture is not where it expects", () => {
    expect(() => recipeForArch("debootstrap --variant=minbase x\n", "aarch64")).toThrow(/linux-image-amd64/);
  });
});
