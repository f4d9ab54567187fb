import { execFileSync } from "node:child_process";
import fs, { createReadStream } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../test/tmp.js";
import { releaseReader } from "./remote-root.js";

/** Resolves with how the reader ended: "end" (end of file) or "hung" (still waiting after `ms`). */
const outcome = (reader: fs.ReadStream, ms: number) =>
  new Promise<string>((resolve) => {
    reader.on("data", () => undefined);
    reader.once("end", () => resolve("end"));
    reader.once("error", (e) => resolve(`error ${e.message}`));
    setTimeout(() => resolve("hung"), ms);
  });

describe("releaseReader: a FIFO's reader whose writer (podman export) failed before opening it", () => {
  it("ends a reader whose open(2) comes only after the writer is gone", async () => {
    const fifo = path.join(tempDir("bce-fifo-"), "root.tar");
    execFileSync("mkfifo", ["-m", "600", fifo]);
    // The reader's open waits on the thread pool (here: 300 ms) while the writer has already failed.
    const slowOpen = (...args: unknown[]) => setTimeout(() => (fs.open as (...a: unknown[]) => void)(...args), 300);
    const reader = createReadStream(fifo, { fs: { open: slowOpen as unknown as typeof fs.open, read: fs.read, close: fs.close } });
    releaseReader(fifo, reader);
    expect(await outcome(reader, 3000)).toBe("end");
    reader.destroy();
  });

  it("ends a reader already waiting in open(2)", async () => {
    const fifo = path.join(tempDir("bce-fifo-"), "root.tar");
    execFileSync("mkfifo", ["-m", "600", fifo]);
    const reader = createReadStream(fifo);
    await new Promise((r) => setTimeout(r, 200));
    releaseReader(fifo, reader);
    expect(await outcome(reader, 3000)).toBe("end");
    reader.destroy();
  });
});
