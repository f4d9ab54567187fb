import { mkdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../test/tmp.js";
import { LocalRuntime } from "./runtime.js";

describe("LocalRuntime.start", () => {
  it("says so when the monitor process cannot be started, instead of recording pid 0", () => {
    const root = tempDir("bce-runtime-");
    const paths = { state: path.join(root, "state"), cache: path.join(root, "cache"), runtime: path.join(root, "run") };
    mkdirSync(path.join(paths.state, "vms", "web"), { recursive: true });
    const runtime = new LocalRuntime(paths, "/nonexistent/node");
    expect(() => runtime.start("web")).toThrow(/the monitor process for VM "web" could not be started/);
  });
});
