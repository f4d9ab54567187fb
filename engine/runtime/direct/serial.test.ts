import { readFile } from "node:fs/promises";
import path from "node:path";
import { PassThrough, Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../../test/tmp.js";
import { BATCH_MS, SerialFanout } from "./serial.js";

describe("SerialFanout", () => {
  it("replays recent output to a new viewer, then streams live, and logs everything", async () => {
    const dir = tempDir("bootc-serial-");
    const fan = new SerialFanout(path.join(dir, "serial.log"), 10);
    fan.push(Buffer.from("0123456789"));
    fan.push(Buffer.from("abcde"));
    const viewer = new PassThrough();
    const seen: Buffer[] = [];
    viewer.on("data", (d: Buffer) => seen.push(d));
    fan.attach(viewer);
    fan.push(Buffer.from("live"));
    await fan.close();
    // The replay holds the last 10 bytes.
    expect(Buffer.concat(seen).toString()).toBe("56789abcdelive");
    expect(await readFile(path.join(dir, "serial.log"), "utf8")).toBe("0123456789abcdelive");
  });

  it("forwards a flood of tiny reads in batches: a stalled viewer queues a few writes, not one per read", async () => {
    const dir = tempDir("bootc-serial-");
    const fan = new SerialFanout(path.join(dir, "serial.log"));
    let writes = 0;
    // A viewer that accepts writes and never finishes one (it reads nothing).
    const stalled = new Writable({ highWaterMark: 1, write: () => undefined });
    const write = stalled.write.bind(stalled);
    stalled.write = ((chunk: Buffer) => (writes++, write(chunk))) as typeof stalled.write;
    fan.attach(stalled);
    for (let i = 0; i < 100_000; i++) fan.push(Buffer.from("xyz"));
    await new Promise((r) => setTimeout(r, BATCH_MS * 5));
    expect(writes).toBeLessThanOrEqual(3); // the replay, then one batch
    expect(fan.replaySize()).toBe(256 * 1024);
    await fan.close();
    expect((await readFile(path.join(dir, "serial.log"))).length).toBe(300_000);
  });

  it("gives the last lines without terminal escapes", async () => {
    const dir = tempDir("bootc-serial-");
    const fan = new SerialFanout(path.join(dir, "serial.log"));
    fan.push(Buffer.from("one\r\n\x1b[0;32m  OK  \x1b[0m two\r\nthree\r\n"));
    expect(fan.lastLines(2)).toEqual(["  OK   two", "three"]);
    await fan.close();
  });
});

describe("SerialFanout bounds", () => {
  it("disconnects a viewer that stops reading once its backlog passes the cap; readers keep streaming", async () => {
    const dir = tempDir("bootc-serial-");
    const fan = new SerialFanout(path.join(dir, "serial.log"), 1024, { viewerBacklog: 64 * 1024, log: 1024 * 1024 * 1024 });
    const stalled = new PassThrough({ highWaterMark: 1024 }); // never read
    const reader = new PassThrough();
    let read = 0;
    reader.on("data", (d: Buffer) => (read += d.length));
    fan.attach(stalled);
    fan.attach(reader);
    const chunk = Buffer.alloc(8 * 1024, 65);
    // 8 MiB of guest output, a batch at a time.
    for (let i = 0; i < 1000; i++) {
      fan.push(chunk);
      fan.flush();
    }
    expect(stalled.destroyed).toBe(true);
    expect(stalled.writableLength).toBeLessThanOrEqual(64 * 1024 + chunk.length);
    await new Promise((r) => setImmediate(r));
    expect(read).toBe(1000 * chunk.length);
    await fan.close();
  });

  it("rotates the serial log at its cap, keeping one previous file", async () => {
    const dir = tempDir("bootc-serial-");
    const log = path.join(dir, "serial.log");
    const fan = new SerialFanout(log, 1024, { viewerBacklog: 1024, log: 1000 });
    for (let i = 0; i < 25; i++) {
      fan.push(Buffer.alloc(100, 48 + (i % 10)));
      fan.flush();
    }
    await fan.close();
    const { size } = await import("node:fs").then((fs) => fs.statSync(log));
    expect(size).toBeLessThanOrEqual(1000);
    expect((await readFile(`${log}.1`)).length).toBe(1000);
  });
});
