import path from "node:path";
import { describe, expect, it } from "vitest";
import { pullSocket, serversDir, vmPaths } from "./paths.js";

const at = (runtime: string) => ({ state: "/s", cache: "/c", runtime });

describe("runtime paths", () => {
  it("keeps the servers' and pulls' directories apart from every VM's, whatever its name", () => {
    const paths = at("/r");
    for (const name of ["servers", "pulls"]) {
      expect([serversDir(paths), path.dirname(pullSocket(paths, "x"))]).not.toContain(vmPaths(name, paths).runDir);
    }
  });
});
