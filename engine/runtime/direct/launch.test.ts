import { mkdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../../test/tmp.js";
import { startMonitor } from "./launch.js";

describe("startMonitor", () => {
  it("says so when the monitor process cannot be started, instead of recording pid 0", () => {
    const root = tempDir("bce-runtime-");
    const paths = { state: path.join(root, "state"), cache: path.join(root, "cache"), runtime: path.join(root, "run") };
    mkdirSync(path.join(paths.state, "vms", "web"), { recursive: true });
    expect(() => startMonitor("web", paths, "/nonexistent/node")).toThrow(/the monitor process for VM "web" could not be started/);
  });
});
