/**
 * Boot insight with a real guest (#29): `bootc run --watch` boots an image built FROM the
 * demo image; `bootc inspect --boot` reports where that boot went (host phases that add up
 * to the timeline, the guest's units with sshd among them, the critical chain); a rebuild
 * that adds a unit sleeping 3 s at boot is then compared with the boot before it, and that
 * unit comes first, at about +3 s. One guest (two boots) serves every test.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import type { BootComparison } from "../engine/insight/compare.js";
import type { BootReport } from "../engine/insight/report.js";
import { bootc, bootcJson, DEMO_IMAGE, makeHome, tempDir, waitUntil, watchImageMounts } from "./lib/harness.js";

const home = makeHome();
const mounts = await watchImageMounts("insight.e2e.ts");
const dir = tempDir("bce-insight-src-");
const TAG = "localhost/bootc-insight-e2e:latest";
const SLEEPER = "bootc-insight-sleep.service";
const containerfile = (extra = "") => `FROM ${DEMO_IMAGE}\nCOPY motd /etc/motd\n${extra}`;

describe("boot insight", () => {
  let out = "";
  let watcher: ReturnType<typeof bootc>;
  const readyCount = () => (out.match(/insight is ready/g) ?? []).length;

  afterAll(async () => {
    watcher?.kill("SIGKILL");
    await bootc(home, ["rm", "--force", "insight"]);
    await execa("podman", ["rmi", "-f", TAG], { reject: false });
  });

  it("reports the boot: phases in order adding up to the timeline, sshd among the units, the critical chain", async () => {
    writeFileSync(path.join(dir, "motd"), "insight\n");
    writeFileSync(path.join(dir, "Containerfile"), containerfile());
    watcher = bootc(home, ["run", "--watch", dir, "-t", TAG, "--name", "insight"], { buffer: false });
    watcher.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    watcher.stderr?.on("data", (d: Buffer) => (out += d.toString()));
    await waitUntil("the first boot", () => readyCount() >= 1 || undefined, 900_000, 1000);

    const report = await bootcJson<BootReport>(home, ["inspect", "insight", "--boot"]);
    const vm = await bootcJson<{ timeline: Array<{ event: string; at: string }> }>(home, ["inspect", "insight"]);
    const at = (e: string) => Date.parse(vm.timeline.find((t) => t.event === e)!.at);
    expect(report.unitsFrom, report.note).toBe("systemd-analyze");
    expect(report.partial).toBeUndefined();
    // In order, each starting where the one before ended, adding up to created → ssh-ready.
    expect(report.totalSeconds).toBeCloseTo((at("ssh-ready") - at("created")) / 1000, 2);
    report.phases.forEach((p, i) => {
      expect(p.seconds).toBeGreaterThanOrEqual(0);
      if (i) expect(p.startSeconds).toBeCloseTo(report.phases[i - 1]!.startSeconds + report.phases[i - 1]!.seconds, 2);
    });
    expect(report.phases.reduce((a, p) => a + p.seconds, 0)).toBeCloseTo(report.totalSeconds, 1);
    const names = report.phases.map((p) => p.name);
    for (const n of ["image mount", "virtiofsd", "qemu start", "firmware", "kernel", "initramfs", "userspace to SSH"]) expect(names).toContain(n);
    expect(names.indexOf("firmware")).toBeLessThan(names.indexOf("kernel"));
    expect(names.indexOf("initramfs")).toBeLessThan(names.indexOf("userspace to SSH"));
    expect(report.units.map((u) => u.name)).toContain("ssh.service");
    expect(report.criticalChain[0]?.depth).toBe(0);
    expect(report.criticalChain.map((l) => l.name)).toContain("multi-user.target");

    // The chart, as a terminal shows it (no TTY here: no colour).
    const text = await bootc(home, ["inspect", "insight", "--boot"]);
    expect(text.exitCode, String(text.all)).toBe(0);
    expect(String(text.stdout)).toMatch(/^ {2}firmware +[\d.]+ s +█/m);
    // The slowest units as bars, the slowest first (which ones depends on the boot's pace).
    const slowest = report.units[0]!.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    expect(String(text.stdout)).toMatch(new RegExp(`^Slowest units \\(of ${report.units.length}\\)\n +[\\d.]+ s +[█▏▎▍▌▋▊▉]+ +${slowest}$`, "m"));
    expect(String(text.stdout)).not.toContain("\u001b[");
  });

  it("has nothing to compare with before a rebuild, and says so", async () => {
    const r = await bootc(home, ["inspect", "insight", "--boot", "--compare"]);
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toContain('error: VM "insight" has no earlier boot to compare with');
    expect(String(r.stderr)).toMatch(/^hint: /m);
  });

  it("after a rebuild that adds a unit sleeping 3 s, --compare names that unit first, at about +3 s", async () => {
    writeFileSync(
      path.join(dir, "sleep.service"),
      `[Unit]\nDescription=Sleeps 3 s at boot\n[Service]\nType=oneshot\nExecStart=/bin/sleep 3\n[Install]\nWantedBy=multi-user.target\n`,
    );
    writeFileSync(
      path.join(dir, "Containerfile"),
      containerfile(
        `COPY sleep.service /etc/systemd/system/${SLEEPER}\nRUN ln -s /etc/systemd/system/${SLEEPER} /etc/systemd/system/multi-user.target.wants/${SLEEPER}\n`,
      ),
    );
    await waitUntil("the reboot into the new image", () => readyCount() >= 2 || undefined, 900_000, 1000);
    const r = await bootcJson<{ report: BootReport; previous: BootReport; comparison: BootComparison }>(home, ["inspect", "insight", "--boot", "--compare"]);
    expect(r.previous.imageId).not.toBe(r.report.imageId);
    expect(r.report.buildSeconds).toBeGreaterThan(0);
    const first = r.comparison.units[0]!;
    expect(first, JSON.stringify(r.comparison.units.slice(0, 5))).toMatchObject({ name: SLEEPER, kind: "added" });
    // At least the 3 s sleep. systemd counts from the job's start, so spawning the process is
    // in it too, which on an emulated guest sharing a busy host costs seconds (14.9 s in all
    // on a 2-core host at load 11): the upper bound only says it is the unit's own time, not a phase's.
    expect(first.delta).toBeGreaterThanOrEqual(2.9);
    expect(first.delta).toBeLessThan(r.report.guest!.userspaceSec / 2);
    expect(r.comparison.phases.length).toBeGreaterThan(0);

    const text = String((await bootc(home, ["inspect", "insight", "--compare"])).stdout).split("\n");
    const units = text.slice(text.findIndex((l) => l.startsWith("Units")) + 1);
    expect(units[0]).toMatch(new RegExp(`^ {2}${SLEEPER.replaceAll(".", "\\.")} +new +\\+[\\d.]+ s`));
  });

  it("leaves nothing behind when the watch stops", async () => {
    watcher.kill("SIGINT");
    expect((await watcher).exitCode).toBe(0);
    expect(await mounts.left()).toEqual([]);
  });
});
