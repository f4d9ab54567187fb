import { EventEmitter } from "node:events";
import { describe, expect, it, vi } from "vitest";

// A stand-in for fs.watch's FSWatcher, so the test can make it fail the way inotify does
// (ENOSPC when the user's watches run out, or the directory going away).
const fakeWatcher = Object.assign(new EventEmitter(), { close: vi.fn() });
vi.mock("node:fs", async (importOriginal) => ({ ...(await importOriginal<typeof import("node:fs")>()), watch: vi.fn(() => fakeWatcher) }));

const { watchSource } = await import("./watch.js");

describe("watchSource", () => {
  it("reports a failing watcher once and stops it, instead of letting the error end the process", async () => {
    const errors: Error[] = [];
    const changes: string[] = [];
    await watchSource(
      "/nonexistent-source",
      (p) => changes.push(p),
      10,
      (e) => errors.push(e),
    );
    const enospc = Object.assign(new Error("ENOSPC: System limit for number of file watchers reached"), { code: "ENOSPC" });
    // Without an "error" listener, emit() would throw this error (and end a real process).
    expect(() => fakeWatcher.emit("error", enospc)).not.toThrow();
    expect(errors).toEqual([enospc]);
    expect(fakeWatcher.close).toHaveBeenCalledOnce();
    expect(changes).toEqual([]);
  });
});
