import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseAnalyzeTime, parseBlame, parseCriticalChain, parseTimespan } from "./systemd-analyze.js";

// Real output of the demo guest (systemd 257): see fixtures/README.md.
const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");

describe("parseTimespan", () => {
  it("reads systemd's spans, several parts included", () => {
    expect(parseTimespan("17.437s")).toBe(17.437);
    expect(parseTimespan("920ms")).toBe(0.92);
    expect(parseTimespan("1min 19.942s")).toBe(79.942);
    expect(parseTimespan("2min 12ms")).toBe(120.012);
    expect(parseTimespan("1h 2min 3s")).toBe(3723);
    expect(parseTimespan("250us")).toBe(0);
  });

  it("refuses anything that is not a span", () => {
    for (const s of ["", "foo.service", "12", "1min foo", "3 s"]) expect(parseTimespan(s)).toBeUndefined();
  });
});

describe("parseAnalyzeTime", () => {
  it("reads the split and the default target from a real guest", () => {
    expect(parseAnalyzeTime(fixture("time.txt"))).toEqual({
      kernelSec: 17.437,
      initrdSec: 79.942,
      userspaceSec: 121.973,
      totalSec: 219.353,
      target: { name: "graphical.target", afterSec: 120.012 },
    });
  });

  it("reads firmware and loader times (a UEFI boot)", () => {
    const t = parseAnalyzeTime("Startup finished in 1.5s (firmware) + 800ms (loader) + 2s (kernel) + 10s (userspace) = 14.3s \n");
    expect(t).toEqual({ firmwareSec: 1.5, loaderSec: 0.8, kernelSec: 2, userspaceSec: 10, totalSec: 14.3 });
  });

  it("reads a soft reboot's line (systemd 257, from a real guest): no kernel, no total", () => {
    const t = parseAnalyzeTime(
      "Startup finished in 14.862s (soft reboot #1) + 1min 2.057s (userspace) \nmulti-user.target reached after 1min 1.9s in userspace\n",
    );
    expect(t).toEqual({ softRebootSec: 14.862, userspaceSec: 62.057, totalSec: 76.919, target: { name: "multi-user.target", afterSec: 61.9 } });
  });

  it("is undefined while the boot has not finished (systemd's own message)", () => {
    const text =
      "Bootup is not yet finished (org.freedesktop.systemd1.Manager.FinishTimestampMonotonic=0).\nPlease try again later.\nHint: Use 'systemctl list-jobs' to see active jobs\n";
    expect(parseAnalyzeTime(text)).toBeUndefined();
  });
});

describe("parseBlame", () => {
  it("reads every unit of a real guest, slowest first, multi-part spans included", () => {
    const units = parseBlame(fixture("blame.txt"));
    expect(units).toHaveLength(34);
    expect(units[0]).toEqual({ name: "sys-devices-pnp0-00:02-00:02:0-00:02:0.0-tty-ttyS0.device", seconds: 125.698 });
    expect(units.find((u) => u.name === "ssh.service")).toEqual({ name: "ssh.service", seconds: 17.068 });
    expect(units.at(-1)).toEqual({ name: "initrd-udevadm-cleanup-db.service", seconds: 0.92 });
    expect(units.every((u, i) => i === 0 || units[i - 1]!.seconds >= u.seconds)).toBe(true);
  });

  it("skips lines that are not a span and a unit", () => {
    expect(parseBlame("Bootup is not yet finished.\n\n  12ms  \n")).toEqual([]);
  });
});

describe("parseCriticalChain", () => {
  it("reads a real guest's chain: depth, when active, how long", () => {
    const chain = parseCriticalChain(fixture("critical-chain.txt"));
    expect(chain.map((l) => l.name)).toEqual([
      "graphical.target",
      "multi-user.target",
      "ssh.service",
      "network.target",
      "systemd-networkd.service",
      "systemd-udevd.service",
      "systemd-tmpfiles-setup-dev.service",
      "systemd-tmpfiles-setup-dev-early.service",
      "systemd-journald.socket",
      "system.slice",
      "-.slice",
    ]);
    expect(chain[0]).toEqual({ name: "graphical.target", atSec: 120.012, depth: 0 });
    expect(chain[2]).toEqual({ name: "ssh.service", atSec: 102.048, seconds: 17.068, depth: 2 });
    expect(chain.at(-1)).toEqual({ name: "-.slice", depth: 10 });
  });

  it("ignores colour codes (a guest whose systemd colours anyway)", () => {
    expect(parseCriticalChain("\u001b[0;1;31mfoo.service @1.5s +2s\u001b[0m\n")).toEqual([{ name: "foo.service", atSec: 1.5, seconds: 2, depth: 0 }]);
  });
});
