/**
 * The edit → build → boot loop with one real guest: `bootc run --watch DIR` builds an image
 * FROM the demo and boots it; a change to a file keeps the kernel (same boot id) and swaps
 * the root (the new file is there, the share still mounted, consoles see the switch line,
 * the old root's mount and virtiofsd are gone); a change to the initramfs falls back to a
 * full reboot and says why (the old boot flushed and killed: what it wrote to a share
 * survives; an attached `bootc console` marks the new boot); a broken build keeps the VM
 * running; the VM stops with the watch, and nothing is left. `--json` reports the loop's
 * events (a first build that fails: no guest).
 *
 * Boot insight (#29) rides the same guest, as nothing it asks changes it: `bootc inspect
 * --boot` reports the first boot (host phases adding up to the timeline, sshd among the
 * units, the critical chain) and has nothing to compare with yet; the rebuild that is soft-
 * rebooted into adds a unit sleeping 3 s, and `--compare` names that unit first, at about
 * +3 s. (Boot insight's tests and the full-reboot tests each had a guest of their own
 * before; sharing this one is two boots fewer for the suite.)
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import type { BootComparison } from "../engine/insight/compare.js";
import type { BootReport } from "../engine/insight/report.js";
import { bootc, bootcJson, DEMO_IMAGE, makeHome, processesUsing, tempDir, waitUntil, watchImageMounts } from "./lib/harness.js";

const home = makeHome();
const mounts = await watchImageMounts("watch.e2e.ts");
const dir = tempDir("bce-soft-src-");
const share = tempDir("bce-soft-share-");
// Its own tag: other test files use theirs, and a full run may be going on beside this one.
const TAG = "localhost/bootc-watch-e2e:latest";
const containerfile = (extra = "") => `FROM ${DEMO_IMAGE}\nCOPY motd /etc/motd\n${extra}`;
/** A unit sleeping 3 s at boot, added by the second build: boot insight's --compare must name it first. */
const SLEEPER = "bootc-insight-sleep.service";
const withSleeper = `COPY sleep.service /etc/systemd/system/${SLEEPER}\nRUN ln -s /etc/systemd/system/${SLEEPER} /etc/systemd/system/multi-user.target.wants/${SLEEPER}\n`;

const guest = async (cmd: string) => {
  const r = await bootc(home, ["ssh", "soft", "--", "sh", "-c", cmd]);
  expect(r.exitCode, String(r.all)).toBe(0);
  return String(r.stdout).trim();
};
/** The virtiofsd processes serving the socket named `sock` (the first root's is fs0.sock, the next root's root1.sock). */
const daemonsOn = (sock: string) => processesUsing(home).filter((p) => p.cmd.includes("virtiofsd") && p.cmd.includes(`/${sock}`)).length;

describe("bootc run --watch: soft reboots, a full reboot, a broken build", () => {
  let out = "";
  let watcher: ReturnType<typeof bootc>;
  let bootId = "";
  let viewer: ReturnType<typeof bootc> | undefined;
  let seen = "";
  const readyCount = () => (out.match(/soft is ready/g) ?? []).length;

  afterAll(async () => {
    viewer?.kill("SIGKILL");
    watcher?.kill("SIGKILL");
    await bootc(home, ["rm", "--force", "soft"]);
    await execa("podman", ["rmi", "-f", TAG], { reject: false });
  });

  it("--json reports the loop's events as JSON lines (here: a first build that fails)", async () => {
    const broken = tempDir("bce-watch-broken-");
    writeFileSync(path.join(broken, "Containerfile"), `FROM ${DEMO_IMAGE}\nNOTANINSTRUCTION\n`);
    const r = await bootc(home, ["run", "--watch", broken, "-t", "localhost/bootc-watch-broken:latest", "--json"]);
    expect(r.exitCode).toBe(1);
    const events = String(r.stdout)
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; at: string });
    expect(events[0]).toMatchObject({ type: "build-started", reason: "initial build" });
    expect(events.every((e) => !Number.isNaN(Date.parse(e.at)))).toBe(true);
    expect(events.some((e) => e.type === "build-log")).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: "failed", error: { code: "BUILD_FAILED" } });
  });

  it("boots the first build", async () => {
    writeFileSync(path.join(dir, "motd"), "version 1\n");
    writeFileSync(path.join(dir, "Containerfile"), containerfile());
    watcher = bootc(home, ["run", "--watch", dir, "-t", TAG, "--name", "soft", "--bind", `${share}:/mnt/share`], { buffer: false });
    watcher.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    watcher.stderr?.on("data", (d: Buffer) => (out += d.toString()));
    await waitUntil("the first boot", () => readyCount() >= 1 || undefined, 600_000, 1000);
    expect(await guest("cat /etc/motd")).toBe("version 1");
    bootId = await guest("cat /proc/sys/kernel/random/boot_id");
    writeFileSync(path.join(share, "from-host.txt"), "kept\n");
  });

  it("boot insight reports the first boot: phases in order adding up to the timeline, sshd among the units, the critical chain", async () => {
    const report = await bootcJson<BootReport>(home, ["inspect", "soft", "--boot"]);
    const vm = await bootcJson<{ timeline: Array<{ event: string; at: string }> }>(home, ["inspect", "soft"]);
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
    const text = await bootc(home, ["inspect", "soft", "--boot"]);
    expect(text.exitCode, String(text.all)).toBe(0);
    expect(String(text.stdout)).toMatch(/^ {2}firmware +[\d.]+ s +█/m);
    // The slowest units as bars, the slowest first (which ones depends on the boot's pace).
    const slowest = report.units[0]!.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    expect(String(text.stdout)).toMatch(new RegExp(`^Slowest units \\(of ${report.units.length}\\)\n +[\\d.]+ s +[█▏▎▍▌▋▊▉]+ +${slowest}$`, "m"));
    expect(String(text.stdout)).not.toContain("\u001b[");
  });

  it("boot insight has nothing to compare with before a rebuild, and says so", async () => {
    const r = await bootc(home, ["inspect", "soft", "--boot", "--compare"]);
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toContain('error: VM "soft" has no earlier boot to compare with');
    expect(String(r.stderr)).toMatch(/^hint: /m);
  });

  it("keeps the kernel and swaps the root when a file changes", async () => {
    viewer = bootc(home, ["console", "soft"], { buffer: false, stdin: "pipe" });
    viewer.stdout?.on("data", (d: Buffer) => (seen += d.toString()));
    await waitUntil("the console to attach", () => seen.length > 0 || undefined, 60_000, 200);
    const first = (await bootcJson<{ imageId: string }>(home, ["inspect", "soft"])).imageId;
    writeFileSync(
      path.join(dir, "sleep.service"),
      `[Unit]\nDescription=Sleeps 3 s at boot\n[Service]\nType=oneshot\nExecStart=/bin/sleep 3\n[Install]\nWantedBy=multi-user.target\n`,
    );
    writeFileSync(path.join(dir, "Containerfile"), containerfile(withSleeper));
    writeFileSync(path.join(dir, "motd"), "version 2\n");
    await waitUntil("the soft reboot", () => readyCount() >= 2 || undefined, 600_000, 1000);
    expect(out).toMatch(/new image [0-9a-f]{12}: soft-rebooted the VM into it/);
    expect(out).not.toMatch(/soft reboot not possible/);
    expect(await guest("cat /etc/motd")).toBe("version 2");
    // The same kernel run on: the kernel's boot id is kept; systemd counts the soft reboot.
    expect(await guest("cat /proc/sys/kernel/random/boot_id")).toBe(bootId);
    expect(await guest("systemctl show -P SoftRebootsCount")).toBe("1");
    // The root is the new image's, under a fresh writable layer; the share is still there.
    expect(await guest("findmnt -no FSTYPE /")).toBe("overlay");
    expect(await guest("cat /mnt/share/from-host.txt")).toBe("kept");
    const vm = await bootcJson<{ imageId: string; timeline: Array<{ event: string }>; mountedImages?: string[] }>(home, ["inspect", "soft"]);
    expect(vm.imageId).not.toBe(first);
    expect(vm.timeline.map((t) => t.event)).toEqual(
      expect.arrayContaining(["build-started", "build-finished", "soft-reboot", "ssh-ready", "old-root-released"]),
    );
    expect(vm.mountedImages).toEqual([vm.imageId]);
    // The old root went: its virtiofsd ended (the new root's serves), and only the new image is mounted.
    expect(daemonsOn("fs0.sock")).toBe(0);
    expect(daemonsOn("root1.sock")).toBeGreaterThan(0);
    expect(daemonsOn("fs1.sock")).toBeGreaterThan(0); // the share's
    expect((await mounts.left()).join("\n")).not.toContain(first.slice(0, 12));
    expect((await execa("podman", ["image", "exists", first], { reject: false })).exitCode).toBe(1);
    await waitUntil(
      "the switch line in the console",
      () => new RegExp(`── soft reboot into ${TAG}@${vm.imageId.slice(0, 12)} ──`).test(seen) || undefined,
      30_000,
    );
    expect(viewer.exitCode).toBeNull();
  });

  it("boot insight after the rebuild that added a unit sleeping 3 s: --compare names that unit first, at about +3 s", async () => {
    const r = await bootcJson<{ report: BootReport; previous: BootReport; comparison: BootComparison }>(home, ["inspect", "soft", "--boot", "--compare"]);
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

    const text = String((await bootc(home, ["inspect", "soft", "--compare"])).stdout).split("\n");
    const units = text.slice(text.findIndex((l) => l.startsWith("Units")) + 1);
    expect(units[0]).toMatch(new RegExp(`^ {2}${SLEEPER.replaceAll(".", "\\.")} +new +\\+[\\d.]+ s`));
  });

  it("falls back to a full reboot, and says why, when the initramfs changes; the attached console follows", async () => {
    const second = (await bootcJson<{ imageId: string }>(home, ["inspect", "soft"])).imageId;
    // The old boot is ended fast (flushed, then killed): what it wrote to a share must survive.
    expect(await guest("seq 1 100000 > /mnt/share/before-reboot.txt && echo written")).toBe("written");
    // NUL padding after the cpio archive: the kernel skips it, so the image still boots.
    const pad = 'RUN for f in /usr/lib/modules/*/initramfs.img; do head -c 512 /dev/zero >> "$f"; done\n';
    writeFileSync(path.join(dir, "motd"), "version 3\n");
    writeFileSync(path.join(dir, "Containerfile"), containerfile(withSleeper + pad));
    await waitUntil("the full reboot", () => readyCount() >= 3 || undefined, 900_000, 1000);
    expect(out).toContain("warning: soft reboot not possible (the new image has another initramfs): rebooting fully");
    expect(out).toMatch(/new image [0-9a-f]{12}: rebooting the VM into it/);
    expect(await guest("cat /etc/motd")).toBe("version 3");
    expect(await guest("cat /proc/sys/kernel/random/boot_id")).not.toBe(bootId);
    expect(readFileSync(path.join(share, "before-reboot.txt"), "utf8").split("\n")).toHaveLength(100_001);
    // The build it replaced, now untagged, was removed rather than left to pile up.
    expect(out).toContain(`removed the image it replaced, ${second.slice(0, 12)}`);
    expect((await execa("podman", ["image", "exists", second], { reject: false })).exitCode).toBe(1);
    // The viewer attached before the soft reboot is still attached; it marked the new boot and shows its output after the marker.
    await waitUntil("the new boot in the viewer", () => /── new boot ──[\s\S]*(\[ *\d+\.\d+\]|systemd|login:)/.test(seen) || undefined, 120_000, 500);
    expect(viewer!.exitCode).toBeNull();
  });

  it("keeps the VM running when a build fails, and reports the error", async () => {
    writeFileSync(path.join(dir, "Containerfile"), containerfile("NOTANINSTRUCTION oops\n"));
    await waitUntil("the failed build", () => /build failed; the VM keeps running/.test(out) || undefined, 300_000, 500);
    expect(out).toMatch(/NOTANINSTRUCTION|unknown instruction/i);
    const list = await bootcJson<Array<{ name: string; effectiveState: string }>>(home, ["list"]);
    expect(list.find((v) => v.name === "soft")?.effectiveState).toBe("ssh-ready");
    expect(await guest("cat /etc/motd")).toBe("version 3");
  });

  it("stops the VM when the watch stops, leaving nothing mounted or running", async () => {
    viewer?.kill("SIGTERM");
    watcher.kill("SIGINT");
    expect((await watcher).exitCode).toBe(0);
    const list = await bootcJson<Array<{ name: string; effectiveState: string }>>(home, ["list"]);
    expect(list.find((v) => v.name === "soft")?.effectiveState).toBe("stopped");
    expect(await mounts.left()).toEqual([]); // none of the builds' images
    await waitUntil("the VM's processes to end", () => processesUsing(home).length === 0 || undefined, 30_000);
  });
});
