import { mkdtemp, readFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { SerialFanout } from "./serial.js";

describe("SerialFanout", () => {
  it("replays recent output to a new viewer, then streams live, and logs everything", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "bootc-serial-"));
    const fan = new SerialFanout(path.join(dir, "serial.log"), 10);
    fan.push(Buffer.from("0123456789"));
    fan.push(Buffer.from("abcde"));
    const viewer = new PassThrough();
    const seen: Buffer[] = [];
    viewer.on("data", (d: Buffer) => seen.push(d));
    fan.attach(viewer);
    fan.push(Buffer.from("live"));
    await fan.close();
    // The first chunk fell out of the 10-byte replay buffer.
    expect(Buffer.concat(seen).toString()).toBe("abcdelive");
    expect(await readFile(path.join(dir, "serial.log"), "utf8")).toBe("0123456789abcdelive");
  });

  it("gives the last lines without terminal escapes", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "bootc-serial-"));
    const fan = new SerialFanout(path.join(dir, "serial.log"));
    fan.push(Buffer.from("one\r\n\x1b[0;32m  OK  \x1b[0m two\r\nthree\r\n"));
    expect(fan.lastLines(2)).toEqual(["  OK   two", "three"]);
    await fan.close();
  });
});
