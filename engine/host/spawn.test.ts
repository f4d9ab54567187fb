import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { isAlive } from "./spawn.js";

describe("isAlive", () => {
  it("is true for a running process", () => {
    expect(isAlive(process.pid)).toBe(true);
    expect(isAlive(undefined)).toBe(false);
  });

  it.runIf(process.platform === "linux")("is false for a zombie (exited, never reaped by its parent)", async () => {
    // `sleep 0.1` exits while its parent, having exec'd into `sleep 3`, never reaps it.
    const parent = spawn("sh", ["-c", "sleep 0.1 & echo $!; exec sleep 3"], { stdio: ["ignore", "pipe", "ignore"] });
    const pid = Number(await new Promise<string>((r) => parent.stdout.once("data", (d: Buffer) => r(d.toString()))));
    await new Promise((r) => setTimeout(r, 500));
    expect(() => process.kill(pid, 0)).not.toThrow(); // signal 0 still reaches a zombie…
    expect(isAlive(pid)).toBe(false); // …but it is dead
    parent.kill();
  });
});
