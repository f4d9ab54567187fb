import { describe, expect, it } from "vitest";
import { consoleLines } from "./file-tail.js";

describe("consoleLines", () => {
  it("keeps the last non-blank lines a getty printed, without its escape sequences", () => {
    // The demo guest's first serial bytes are a terminal reset (ESC [ ! p, OSC 104, ESC [ ? 7 h);
    // a getty may clear the screen (ESC c) and colour its prompt.
    const log =
      "\x1b[!p\x1b]104\x07\x1b[?7h[  OK  ] Started ssh.service\r\n\x1bc\x1b[?25h\r\nDebian GNU/Linux 13 bootc-demo ttyS0\r\n\r\n\x1b[1mbootc-demo login: \x1b[0m";
    expect(consoleLines(log, 2)).toEqual(["Debian GNU/Linux 13 bootc-demo ttyS0", "bootc-demo login: "]);
    expect(consoleLines(log, 10)).toEqual(["[  OK  ] Started ssh.service", "Debian GNU/Linux 13 bootc-demo ttyS0", "bootc-demo login: "]);
    expect(consoleLines("", 10)).toEqual([]);
  });
});
