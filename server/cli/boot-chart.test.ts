import { describe, expect, it } from "vitest";
import { compareReports } from "../../engine/insight/compare.js";
import type { BootReport } from "../../engine/insight/report.js";
import { renderBootReport, renderComparison } from "./boot-chart.js";

const report: BootReport = {
  version: 1,
  vm: "web",
  vmCreatedAt: "c",
  bootId: "2026-12-03T18:22:07.718Z",
  image: "localhost/bootc-demo",
  imageId: "6151ca0c006cb40d5143b72e21732c5eea028cedfb8e9574980efb48f397a16c",
  phases: [
    { name: "image mount", until: "image-mounted", startSeconds: 0, seconds: 2 },
    { name: "firmware", until: "first-serial-byte", startSeconds: 2, seconds: 18 },
    { name: "userspace to SSH", until: "ssh-ready", startSeconds: 20, seconds: 20 },
  ],
  totalSeconds: 40,
  guest: { kernelSec: 5, initrdSec: 10, userspaceSec: 20, totalSec: 35, target: { name: "graphical.target", afterSec: 19 } },
  units: [
    { name: "ssh.service", seconds: 8 },
    { name: "systemd-networkd.service", seconds: 4 },
  ],
  criticalChain: [
    { name: "graphical.target", atSec: 19, depth: 0 },
    { name: "ssh.service", atSec: 11, seconds: 8, depth: 1 },
  ],
  unitsFrom: "systemd-analyze",
  madeAt: "t",
};
const plain = { colour: false };

describe("the boot chart", () => {
  it("draws the phases on one timeline: each bar starts where its phase began", () => {
    const lines = renderBootReport(report, plain).split("\n");
    expect(lines[0]).toBe("web: 40.0 s from created to SSH ready");
    const phase = (name: string) => lines.find((l) => l.trimStart().startsWith(name))!;
    // 40 columns for 40 s: userspace starts at column 20 and is 20 wide.
    expect(phase("userspace to SSH")).toMatch(/ 20\.0 s {2} {20}█{20}$/);
    expect(phase("firmware")).toMatch(/ 18\.0 s {4}█{18}$/);
    expect(lines).toContain("  graphical.target @19.0 s");
    expect(lines).toContain("    └─ssh.service @11.0 s +8.00 s");
    expect(lines.some((l) => /^ {5}8\.00 s {2}█{40} {2}ssh\.service$/.test(l))).toBe(true);
    expect(lines.join("\n")).not.toContain("\u001b[");
  });

  it("colours only when asked", () => {
    expect(renderBootReport(report, { colour: true })).toContain("\u001b[");
  });

  it("says why there are no units", () => {
    const text = renderBootReport({ ...report, units: [], criticalChain: [], guest: undefined, unitsFrom: "none", note: "the image has no sshd" }, plain);
    expect(text).not.toContain("Slowest units");
    expect(text).toContain("note: the image has no sshd");
  });

  it("lists what changed, new units first, then by how much", () => {
    const after = { ...report, bootId: "b2", totalSeconds: 45, units: [...report.units.slice(0, 1), { name: "sleepy.service", seconds: 3.02 }] };
    const lines = renderComparison(compareReports(report, after), plain).split("\n");
    expect(lines[1]).toContain(": +5.00 s to the end of the boot");
    const units = lines.slice(lines.findIndex((l) => l.startsWith("Units")) + 1);
    expect(units[0]).toMatch(/^ {2}systemd-networkd\.service +gone +-4\.00 s +█{40}$/);
    expect(units[1]).toMatch(/^ {2}sleepy\.service +new +\+3\.02 s +█{30}▎$/);
    expect(lines.slice(lines.indexOf("Phases") + 1)).toEqual(["  nothing moved"]);
  });
});
