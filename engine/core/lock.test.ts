import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../test/tmp.js";
import { withRebuildLock } from "./lock.js";

describe("withRebuildLock", () => {
  it("runs rebuilds of one VM one after another, never side by side", async () => {
    const dir = tempDir("bce-vmlock-");
    const log: string[] = [];
    const rebuild = (id: string) =>
      withRebuildLock(path.join(dir, "rebuild.lock"), "vm", async () => {
        log.push(`start ${id}`);
        await sleep(700);
        log.push(`end ${id}`);
      });
    await Promise.all([rebuild("a"), rebuild("b")]);
    expect(log).toHaveLength(4);
    expect(log[1]).toBe(log[0]!.replace("start", "end")); // the first ended before the second started
  });
});
