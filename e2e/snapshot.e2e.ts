/**
 * A real disk-mode guest: its base disk is built with progress shown, and what the guest
 * writes survives stop and start (the second boot reuses the base). Then its snapshots: one
 * taken while it runs holds its memory, so a restore on the stopped VM resumes it without a
 * boot (same boot id, uptime going on, the deleted file back); one taken while it is stopped
 * holds the disk only and is restored on a stopped VM; bad input is refused in one sentence;
 * rm leaves nothing. One guest (e2e/disk.e2e.ts's base-disk tests stop their VMs at the disk
 * step and rely on this file for the boot).
 */
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootc, bootcJson, DEMO_IMAGE, makeHome, processesUsing, watchImageMounts } from "./lib/harness.js";

const home = makeHome();
const mounts = await watchImageMounts("snapshot.e2e.ts");
process.env.BOOTC_HOME = home; // for the engine API used in-process below
const { Engine } = await import("../dist/engine/index.js");
const vmDirs = () => (existsSync(path.join(home, "state/vms")) ? readdirSync(path.join(home, "state/vms")) : []);
const VM = "snap1";
type Snap = { tag: string; memory: boolean; vmStateBytes: number };

const ssh = async (script: string) => {
  const r = await bootc(home, ["ssh", VM, "--", "sh", "-c", script]);
  expect(r.exitCode, String(r.all)).toBe(0);
  return String(r.stdout).trim();
};
const uptime = async () => Number((await ssh("cut -d' ' -f1 /proc/uptime")).trim());
const events = async () => (await bootcJson<{ timeline: Array<{ event: string }> }>(home, ["inspect", VM])).timeline.map((t) => t.event);

afterAll(async () => {
  for (const name of vmDirs()) await bootc(home, ["rm", "--force", name]);
  expect(processesUsing(home)).toEqual([]);
  expect(await mounts.left()).toEqual([]);
});

describe("bootc snapshot", () => {
  // The one guest these tests share (inside the describe: a run of the warm test alone does not boot it).
  let run: Awaited<ReturnType<typeof bootc>>;
  beforeAll(async () => {
    run = await bootc(home, ["run", "--mode", "disk", "--builder", "direct", "--disk-size", "2G", "--memory", "1G", "--name", VM, DEMO_IMAGE]);
    expect(run.exitCode, String(run.all)).toBe(0);
  }, 600_000);

  let bootId = "";
  let uptimeAtSnapshot = 0;

  it("keeps what the guest wrote across stop and start; the base disk is built once, with progress shown", async () => {
    expect(String(run.stderr)).toMatch(/writing the root filesystem/);
    expect(await events()).toContain("disk-built");
    const base = (await bootcJson<{ disk: { base: string } }>(home, ["inspect", VM])).disk.base;
    await ssh("echo kept-$((6*7)) > /root/note && sync");

    expect((await bootc(home, ["stop", VM])).exitCode).toBe(0);
    const start = await bootc(home, ["start", VM]);
    expect(start.exitCode, String(start.all)).toBe(0);
    expect(await ssh("cat /root/note")).toBe("kept-42");
    const second = await events();
    expect(second).toContain("disk-reused");
    expect(second).not.toContain("disk-built");
    expect((await bootcJson<{ disk: { base: string } }>(home, ["inspect", VM])).disk.base).toBe(base);
  });

  it("a snapshot of the running guest, restored on the stopped VM, resumes it without a boot: the file is back", async () => {
    await ssh("echo before-snapshot > /root/mark && sync");
    bootId = await ssh("cat /proc/sys/kernel/random/boot_id");
    uptimeAtSnapshot = await uptime();
    const create = await bootc(home, ["snapshot", "create", VM, "live"]);
    expect(create.exitCode, String(create.all)).toBe(0);
    expect(String(create.stdout)).toMatch(/disk and memory/);
    // The guest ran on through the save.
    await ssh("rm /root/mark && sync");

    expect((await bootc(home, ["stop", VM])).exitCode).toBe(0);
    const started = Date.now();
    const restore = await bootc(home, ["snapshot", "restore", VM, "live"]);
    expect(restore.exitCode, String(restore.all)).toBe(0);
    expect(String(restore.stdout)).toMatch(/ssh-ready/);
    const restoreSec = (Date.now() - started) / 1000;
    console.log(`restore of a memory snapshot to ssh-ready: ${restoreSec.toFixed(1)} s`);

    expect(await ssh("cat /root/mark")).toBe("before-snapshot");
    expect(await ssh("cat /proc/sys/kernel/random/boot_id")).toBe(bootId); // no boot
    const up = await uptime();
    expect(up).toBeGreaterThanOrEqual(uptimeAtSnapshot); // the guest's time went on from the snapshot's
    expect(up).toBeLessThan(uptimeAtSnapshot + restoreSec + 60);
    const t = await events();
    expect(t).toContain("snapshot-restored");
    expect(t).not.toContain("kernel-to-userspace"); // the kernel did not start again
    // The clock was stepped to the host's after the restore.
    const guestNow = Number(await ssh("date +%s"));
    expect(Math.abs(guestNow - Date.now() / 1000)).toBeLessThan(30);
  });

  it("a snapshot of the stopped VM holds the disk only, and is restored on a stopped VM", async () => {
    await ssh("echo disk-only > /root/mark2 && sync");
    expect((await bootc(home, ["stop", VM])).exitCode).toBe(0);
    const create = await bootc(home, ["snapshot", "create", VM, "cold.1"]);
    expect(create.exitCode, String(create.all)).toBe(0);
    expect(String(create.stdout)).toMatch(/disk only/);

    const list = await bootcJson<Snap[]>(home, ["snapshot", "list", VM, "--json"]);
    expect(list.map((s) => [s.tag, s.memory])).toEqual([
      ["live", true],
      ["cold.1", false],
    ]);
    expect(list[0]!.vmStateBytes).toBeGreaterThan(1024 * 1024);
    const table = await bootc(home, ["snapshot", "list", VM]);
    expect(String(table.stdout)).toMatch(/cold\.1\s.*no \(disk only\)/);

    // Back to "live" (the file is gone again on its disk), then to "cold.1" (it is back).
    const live = await bootc(home, ["snapshot", "restore", VM, "live"]);
    expect(live.exitCode, String(live.all)).toBe(0);
    expect(await ssh("test -e /root/mark2 || echo gone")).toBe("gone");
    expect((await bootc(home, ["stop", "--force", VM])).exitCode).toBe(0);
    const cold = await bootc(home, ["snapshot", "restore", VM, "cold.1"]);
    expect(cold.exitCode, String(cold.all)).toBe(0);
    expect(String(cold.stdout)).toMatch(/disk put back/);
    expect((await bootc(home, ["start", VM])).exitCode).toBe(0);
    expect(await ssh("cat /root/mark2")).toBe("disk-only");
    expect(await ssh("cat /proc/sys/kernel/random/boot_id")).not.toBe(bootId); // a real boot this time
  });

  it("refuses bad input in one sentence and changes nothing", async () => {
    const refuse = async (args: string[], message: RegExp) => {
      const r = await bootc(home, ["snapshot", ...args]);
      expect(r.exitCode, String(r.all)).not.toBe(0);
      expect(String(r.stderr)).toMatch(message);
      expect(String(r.stderr)).not.toMatch(/\n\s+at /); // no stack trace
    };
    await refuse(["create", "nope", "t1"], /no VM named "nope"|VM "nope"/);
    await refuse(["create", VM, "bad/tag"], /"bad\/tag" is not a valid snapshot tag/);
    await refuse(["create", VM, "-x"], /./);
    await refuse(["restore", VM, "missing"], /has no snapshot "missing"/);
    await refuse(["create", VM, "live"], /already has a snapshot "live"/);
    // The VM runs (started above): a disk-only snapshot cannot go back under it.
    await refuse(["restore", VM, "cold.1"], /holds its disk only/);
    // An ephemeral VM is refused whatever its state: made and removed again at once, never waited for.
    const engine = new Engine();
    await engine.createVm({ image: DEMO_IMAGE, name: "eph1", memoryMiB: 512 });
    await refuse(["create", "eph1", "t1"], /is ephemeral/);
    await engine.removeVm("eph1", { force: true });
    const list = await bootcJson<Snap[]>(home, ["snapshot", "list", VM, "--json"]);
    expect(list.map((s) => s.tag)).toEqual(["live", "cold.1"]);
  });

  it("rm of a snapshot of the running VM, then of the VM: nothing is left", async () => {
    expect((await bootc(home, ["snapshot", "rm", VM, "cold.1"])).exitCode).toBe(0);
    const list = await bootcJson<Snap[]>(home, ["snapshot", "list", VM, "--json"]);
    expect(list.map((s) => s.tag)).toEqual(["live"]);
    expect((await bootc(home, ["rm", "--force", VM])).exitCode).toBe(0);
    expect(vmDirs()).toEqual([]);
    expect(processesUsing(home)).toEqual([]);
  });
});

describe("bootc run --rm --warm", () => {
  it("the first run boots cold and saves a warm start, the next resumes it; both return the command's output and code, and leave no VM", async () => {
    // The base disk of the VM above: no second build.
    const warmRun = () =>
      bootc(home, [
        "run",
        "--rm",
        "--warm",
        "--builder",
        "direct",
        "--disk-size",
        "2G",
        "--memory",
        "1G",
        DEMO_IMAGE,
        "--",
        "sh",
        "-c",
        "echo out-$((6*7)); echo to-stderr >&2; cat /proc/sys/kernel/random/boot_id; date +%s; exit 3",
      ]);
    const lines = (r: { stdout: unknown }) => String(r.stdout).trim().split("\n");
    const first = await warmRun();
    expect(first.exitCode, String(first.all)).toBe(3);
    expect(lines(first)[0]).toBe("out-42");
    expect(String(first.stdout)).not.toContain("to-stderr");
    expect(String(first.stderr)).toContain("to-stderr");
    expect(String(first.stderr)).toMatch(/booting one cold to save it/);
    expect(vmDirs()).toEqual([]);

    const started = Date.now();
    const second = await warmRun();
    console.log(`warm one-shot: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(second.exitCode, String(second.all)).toBe(3);
    expect(lines(second)[0]).toBe("out-42");
    expect(String(second.stderr)).toContain("to-stderr");
    expect(String(second.stderr)).toMatch(/\(warm start\)/);
    expect(String(second.stderr)).not.toMatch(/booting one cold/);
    // The same saved guest, resumed both times: one boot id; its clock was set to the host's first.
    expect(lines(second)[1]).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines(second)[1]).toBe(lines(first)[1]);
    expect(Math.abs(Number(lines(second)[2]) - Date.now() / 1000)).toBeLessThan(60);
    expect(vmDirs()).toEqual([]);

    // Listed with the cached disks, and pruned with them.
    const disks = await bootcJson<Array<{ warm: number; usedBy: string[] }>>(home, ["disks", "--json"]);
    expect(disks.map((d) => d.warm)).toEqual([1]);
    expect((await bootc(home, ["disks", "prune", "--all"])).exitCode).toBe(0);
    const warmDir = path.join(home, "cache/warm");
    expect(existsSync(warmDir) ? readdirSync(warmDir) : []).toEqual([]);
    expect(processesUsing(home)).toEqual([]);
  });
});
