import { describe, expect, it } from "vitest";
import { compareReports } from "./compare.js";
import type { BootReport } from "./report.js";

const report = (o: Partial<BootReport>): BootReport => ({
  version: 1,
  vm: "a",
  vmCreatedAt: "t0",
  bootId: "b1",
  image: "localhost/x",
  imageId: "i1",
  phases: [],
  totalSeconds: 0,
  units: [],
  criticalChain: [],
  unitsFrom: "systemd-analyze",
  madeAt: "t",
  ...o,
});

describe("compareReports", () => {
  const before = report({
    totalSeconds: 100,
    phases: [
      { name: "firmware", until: "first-serial-byte", startSeconds: 0, seconds: 20 },
      { name: "userspace to SSH", until: "ssh-ready", startSeconds: 20, seconds: 80 },
    ],
    units: [
      { name: "ssh.service", seconds: 17 },
      { name: "systemd-networkd.service", seconds: 10 },
      { name: "gone.service", seconds: 1 },
      { name: "same.service", seconds: 2 },
    ],
  });
  const after = report({
    bootId: "b2",
    imageId: "i2",
    totalSeconds: 112,
    phases: [
      { name: "firmware", until: "first-serial-byte", startSeconds: 0, seconds: 21 },
      { name: "userspace to SSH", until: "ssh-ready", startSeconds: 21, seconds: 91 },
    ],
    units: [
      { name: "ssh.service", seconds: 22 },
      { name: "systemd-networkd.service", seconds: 9 },
      { name: "sleepy.service", seconds: 3.01 },
      { name: "same.service", seconds: 2.02 },
    ],
  });

  it("ranks phases by how much they moved, largest first", () => {
    const c = compareReports(before, after);
    expect(c.totalDelta).toBe(12);
    expect(c.phases.map((p) => [p.name, p.delta])).toEqual([
      ["userspace to SSH", 11],
      ["firmware", 1],
    ]);
  });

  it("names units the image added or removed first, then those that moved, largest first, leaving out noise", () => {
    const c = compareReports(before, after);
    expect(c.units).toEqual([
      { name: "sleepy.service", kind: "added", after: 3.01, delta: 3.01 },
      { name: "gone.service", kind: "removed", before: 1, delta: -1 },
      { name: "ssh.service", kind: "changed", before: 17, after: 22, delta: 5 },
      { name: "systemd-networkd.service", kind: "changed", before: 10, after: 9, delta: -1 },
    ]);
  });

  it("does not compare units when one boot's guest could not be asked", () => {
    const c = compareReports(report({ unitsFrom: "none" }), after);
    expect(c.units).toEqual([]);
    expect(c.unitsMissing).toBe("the earlier boot's guest units are not known");
  });

  it("compares a soft reboot with the full boot before it without the units only a full boot runs", () => {
    const full = report({
      units: [
        { name: "dev-ttyS0.device", seconds: 90 },
        { name: "initrd-switch-root.service", seconds: 25 },
        { name: "ssh.service", seconds: 8 },
      ],
    });
    const soft = report({
      bootId: "b2",
      from: "soft-reboot",
      units: [
        { name: "ssh.service", seconds: 8.5 },
        { name: "sleepy.service", seconds: 3 },
      ],
    });
    const c = compareReports(full, soft);
    expect(c.units.map((u) => [u.name, u.kind])).toEqual([
      ["sleepy.service", "added"],
      ["ssh.service", "changed"],
    ]);
    expect(c.unitsNote).toMatch(/^a soft reboot compared with a full boot: 2 unit\(s\) only a full boot runs/);
    // Two full boots compare every unit, as before.
    expect(compareReports(full, report({ bootId: "b3", units: [{ name: "ssh.service", seconds: 8 }] })).units.map((u) => u.kind)).toEqual([
      "removed",
      "removed",
    ]);
  });
});
