import path from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../../test/tmp.js";
import { watchBootOutput } from "./boot-output.js";
import { SerialFanout } from "./serial.js";

/** A panic as Debian 13's kernel prints it when init exits: the message, a stack dump, the closing line. */
const PANIC = [
  "[    2.950000] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000000\n",
  "[    2.950100] CPU: 1 UID: 0 PID: 1 Comm: true Not tainted 6.12.117+deb13-amd64 #1  Debian 6.12.117-1\n",
  "[    2.950200] Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 1.16.2-debian-1.16.2-1 04/01/2014\n",
  "[    2.950300] Call Trace:\n",
  "[    2.950400]  <TASK>\n",
  ...Array.from({ length: 12 }, (_, i) => `[    2.9505${i}0]  frame_${i}+0x1/0x2\n`),
  "[    2.951000]  </TASK>\n",
  "[    2.951100] Kernel Offset: 0x8400000 from 0xffffffff81000000\n",
  "[    2.951200] ---[ end Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000000 ]---\n",
];

function watch() {
  const serial = new SerialFanout(path.join(tempDir("bce-bootout-"), "serial.log"));
  const out = new PassThrough();
  const seen = { first: 0, userspace: 0, panics: [] as string[][] };
  watchBootOutput([out], serial, {
    firstByte: () => seen.first++,
    userspace: () => seen.userspace++,
    panicked: (lines) => seen.panics.push(lines),
  });
  const say = (...lines: string[]) => lines.forEach((l) => out.write(l));
  return { seen, say, serial };
}

describe("watchBootOutput", () => {
  it("reports a panic once, though its closing line comes after a stack dump, a line at a time", async () => {
    const { seen, say, serial } = watch();
    say("[    0.000000] Linux version 6.12\n", ...PANIC);
    expect(seen.first).toBe(1);
    expect(seen.panics).toHaveLength(1);
    await serial.close();
  });

  it("reports a panic split across reads, and the same panic again in a reset's new boot", async () => {
    const { seen, say, serial } = watch();
    const all = PANIC.join("");
    say(all.slice(0, 30), all.slice(30, 200), all.slice(200));
    expect(seen.panics).toHaveLength(1);
    say("[    0.000000] Linux version 6.12\n", "[    2.0] Run /init as init process\n", ...PANIC);
    expect(seen.panics).toHaveLength(2);
    expect(seen.first).toBe(1);
    expect(seen.userspace).toBe(1);
    await serial.close();
  });

  it("a closing line whose opening it never saw is still a panic", async () => {
    const { seen, say, serial } = watch();
    say(PANIC.at(-1)!);
    expect(seen.panics).toHaveLength(1);
    await serial.close();
  });
});
