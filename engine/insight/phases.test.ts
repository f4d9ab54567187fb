import { describe, expect, it } from "vitest";
import { buildSeconds, phasesOf } from "./phases.js";

// A real boot's timeline (the demo image under TCG) and its guest's systemd-analyze time (fixtures/time.txt).
const timeline = [
  { event: "created", at: "2026-12-03T18:22:07.718Z" },
  { event: "image-mounted", at: "2026-12-03T18:22:09.380Z" },
  { event: "virtiofsd-ready", at: "2026-12-03T18:22:09.583Z" },
  { event: "qemu-started", at: "2026-12-03T18:22:09.688Z" },
  { event: "first-serial-byte", at: "2026-12-03T18:22:36.825Z" },
  { event: "ssh-ready", at: "2026-12-03T18:26:22.117Z" },
  { event: "stopped", at: "2026-12-03T18:40:00.000Z" },
];
const guest = { kernelSec: 17.437, initrdSec: 79.942, userspaceSec: 121.973, totalSec: 219.353 };

const sum = (xs: Array<{ seconds: number }>) => xs.reduce((a, x) => a + x.seconds, 0);

describe("phasesOf", () => {
  it("makes one phase per mark up to SSH ready, in order, touching, adding up to the whole", () => {
    const { phases, totalSeconds } = phasesOf(timeline);
    expect(phases.map((p) => p.name)).toEqual(["image mount", "virtiofsd", "qemu start", "firmware", "userspace to SSH"]);
    expect(totalSeconds).toBe(254.399);
    expect(sum(phases)).toBeCloseTo(totalSeconds, 2);
    phases.forEach((p, i) => i && expect(p.startSeconds).toBeCloseTo(phases[i - 1]!.startSeconds + phases[i - 1]!.seconds, 2));
  });

  it("splits the guest's part with its own kernel and initrd times", () => {
    const { phases, totalSeconds } = phasesOf(timeline, guest);
    expect(phases.map((p) => [p.name, p.seconds])).toEqual([
      ["image mount", 1.662],
      ["virtiofsd", 0.203],
      ["qemu start", 0.105],
      ["firmware", 27.137],
      ["kernel", 17.437],
      ["initramfs", 79.942],
      ["userspace to SSH", 127.913],
    ]);
    expect(sum(phases)).toBeCloseTo(totalSeconds, 2);
  });

  it("uses the host's own kernel mark when the console printed it, and never lets the guest's figures overrun", () => {
    const withInit = [...timeline.slice(0, 5), { event: "kernel-to-userspace", at: "2026-12-03T18:22:50.000Z" }, ...timeline.slice(5)];
    const { phases, totalSeconds } = phasesOf(withInit, { ...guest, initrdSec: 10_000 });
    expect(phases.map((p) => p.name)).toEqual(["image mount", "virtiofsd", "qemu start", "firmware", "kernel", "initramfs", "userspace to SSH"]);
    expect(phases.at(-1)!.seconds).toBe(0);
    expect(sum(phases)).toBeCloseTo(totalSeconds, 2);
  });

  it("leaves a rebuild's build out of the boot and names marks it does not know", () => {
    const rebuilt = [
      { event: "build-started", at: "2026-12-03T18:20:00.000Z" },
      { event: "build-finished", at: "2026-12-03T18:21:00.500Z" },
      { event: "previous-boot-stopped", at: "2026-12-03T18:22:00.000Z" },
      timeline[0]!,
      { event: "domain-started", at: "2026-12-03T18:22:09.718Z" },
      { event: "ssh-timeout", at: "2026-12-03T18:23:00.000Z" },
      { event: "ssh-ready", at: "2026-12-03T18:24:07.718Z" },
    ];
    expect(buildSeconds(rebuilt)).toBe(60.5);
    expect(phasesOf(rebuilt).phases.map((p) => [p.name, p.seconds])).toEqual([
      ["domain start", 2],
      ["userspace to SSH", 118],
    ]);
  });

  it("has no phases before the boot is created", () => {
    expect(phasesOf([])).toEqual({ phases: [], totalSeconds: 0 });
  });

  it("times a soft reboot from its switch to SSH, with no firmware or kernel to split", () => {
    const soft = [
      { event: "build-started", at: "2026-12-03T18:30:00.000Z" },
      { event: "build-finished", at: "2026-12-03T18:30:20.000Z" },
      { event: "soft-reboot", at: "2026-12-03T18:30:25.000Z" },
      { event: "ssh-ready", at: "2026-12-03T18:31:40.500Z" },
    ];
    expect(phasesOf(soft, guest)).toEqual({ phases: [{ name: "userspace to SSH", until: "ssh-ready", startSeconds: 0, seconds: 75.5 }], totalSeconds: 75.5 });
  });
});
