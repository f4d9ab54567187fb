import { describe, expect, it } from "vitest";
import { mergeImageRows, parseArchLines, type PodmanImageRow } from "./images.js";

const row = (id: string, names: string[], extra: Partial<PodmanImageRow> = {}): PodmanImageRow => ({ Id: id, Names: names, Size: 1, ...extra });

describe("mergeImageRows", () => {
  it("gives a remote podman's one row per name of a two-tag image as one image with both names", () => {
    // podman 4.3's remote client: a row per tag, each with every name.
    const both = ["localhost/x:one", "localhost/x:two"];
    const merged = mergeImageRows([row("a", both, { Labels: { "containers.bootc": "1" } }), row("a", both)]);
    expect(merged).toHaveLength(1);
    expect(merged[0]!.names).toEqual(both);
    expect(merged[0]!.bootc).toBe(true);
  });

  it("keeps a local podman's rows (one per image) as they are, and joins names that come apart", () => {
    const merged = mergeImageRows([row("a", ["localhost/x:one"]), row("b", ["localhost/y:1"]), row("a", ["localhost/x:two", "localhost/x:one"])]);
    expect(merged.map((i) => [i.id, i.names])).toEqual([
      ["a", ["localhost/x:one", "localhost/x:two"]],
      ["b", ["localhost/y:1"]],
    ]);
  });

  it("keeps an untagged image dangling, and a named one not", () => {
    expect(mergeImageRows([row("c", [])])[0]!.dangling).toBe(true);
    expect(mergeImageRows([row("c", [], { Dangling: true }), row("c", ["localhost/z:1"], { Dangling: false })])[0]!.dangling).toBe(false);
  });
});

describe("parseArchLines", () => {
  it("reads podman image inspect's id and architecture per line", () => {
    const m = parseArchLines("6151ca0c amd64\n8a1ad206 arm64\n\nabc \n");
    expect([...m]).toEqual([
      ["6151ca0c", "amd64"],
      ["8a1ad206", "arm64"],
      ["abc", ""],
    ]);
  });
});
