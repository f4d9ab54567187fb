/**
 * What a CI job runs: `bootc run --rm IMAGE -- CMD` (the command's output streamed, its
 * exit code returned, nothing left) and `bootc test IMAGE` (boot, wait for systemd, report
 * failed units, remove). Each boots a fresh guest: that is what these commands are for.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import { bootc, bootcJson, DEMO_IMAGE, freePort, makeHome, processesUsing, watchImageMounts } from "./lib/harness.js";
import { client, serve } from "./lib/api.js";

const home = makeHome();
const mounts = await watchImageMounts("oneshot.e2e.ts");
const vmDirs = () => (existsSync(path.join(home, "state/vms")) ? readdirSync(path.join(home, "state/vms")) : []);

/**
 * Runs bootc with `args` and takes a port of the VM it creates as soon as its record is
 * written, as another program could in the seconds before qemu binds it (the monitor mounts
 * the image and starts virtiofsd first): `which` picks it from the record (its SSH port, or
 * a -p port given). Returns bootc's result, the port held until bootc has ended.
 */
async function runWithPortTaken(args: string[], which: (record: { sshPort?: number }) => number | undefined) {
  const before = new Set(vmDirs()); // a VM an earlier test left is not this one
  const run = bootc(home, args);
  let ended = false;
  void run.finally(() => (ended = true));
  while (!ended) {
    for (const name of vmDirs().filter((n) => !before.has(n))) {
      let record: { sshPort?: number };
      try {
        record = JSON.parse(readFileSync(path.join(home, "state/vms", name, "vm.json"), "utf8")) as { sshPort?: number };
      } catch {
        continue; // not written yet
      }
      const port = which(record);
      if (!port) continue;
      const srv = net.createServer();
      await new Promise<void>((resolve, reject) => {
        srv.once("error", (e) => reject(new Error(`port ${port} was bound before this test could take it (${e.message})`)));
        srv.listen({ port, host: "127.0.0.1" }, resolve);
      });
      return run.finally(() => srv.close());
    }
    await sleep(5);
  }
  throw new Error(`bootc ended before its VM's record named the port; it said:\n${String((await run).all)}`);
}

afterAll(async () => {
  for (const name of vmDirs()) await bootc(home, ["rm", "--force", name]);
  expect(processesUsing(home)).toEqual([]);
  expect(await mounts.left()).toEqual([]);
});

describe("bootc run --rm IMAGE -- CMD", () => {
  it("streams the command's stdout and stderr apart, exits with its code, and leaves nothing", async () => {
    const r = await bootc(home, ["run", "--rm", "--memory", "1G", DEMO_IMAGE, "--", "sh", "-c", "echo to-stdout; echo to-stderr >&2; uname -r; exit 7"]);
    expect(r.exitCode, String(r.all)).toBe(7);
    expect(String(r.stdout).split("\n")[0]).toBe("to-stdout");
    expect(String(r.stdout)).toMatch(/^\d+\.\d+\.\d+/m); // the guest's kernel, not the host's words
    expect(String(r.stdout)).not.toContain("to-stderr");
    expect(String(r.stderr)).toContain("to-stderr");
    expect(vmDirs()).toEqual([]);
  });

  it("a guest that powers itself off is not a failure: exit 0, and it says so", async () => {
    const r = await bootc(home, ["run", "--rm", "--memory", "1G", DEMO_IMAGE, "--execute", "systemctl poweroff && sleep 600"]);
    expect(r.exitCode, String(r.all)).toBe(0);
    expect(String(r.stderr)).toMatch(/the guest powered itself off/);
    expect(vmDirs()).toEqual([]);
  });

  it("a guest whose SSH never answers: 125 with why, and the VM goes with its failed boot", async () => {
    const r = await bootc(home, ["run", "--rm", "--memory", "1G", "--timeout", "10", "--karg", "systemd.mask=ssh.service", DEMO_IMAGE, "--", "true"]);
    expect(r.exitCode, String(r.all)).toBe(125);
    expect(String(r.stderr)).toMatch(/: SSH did not answer within 10 s; /);
    expect(String(r.stderr)).toMatch(/^hint: it was removed \(--rm\)/m);
    expect(vmDirs()).toEqual([]);
    expect(processesUsing(home)).toEqual([]);
  });

  it("a -p port taken after the check, before qemu: 125 with one sentence, and nothing of the VM is left when bootc returns", async () => {
    const port = await freePort();
    const r = await runWithPortTaken(["run", "--rm", "--memory", "1G", "-p", `${port}:80`, DEMO_IMAGE, "--", "true"], () => port);
    expect(r.exitCode, String(r.all)).toBe(125);
    expect(String(r.stderr)).toMatch(new RegExp(`did not boot: host port ${port} is already in use; pick another host port for -p`));
    expect(String(r.stderr)).toMatch(/^hint: it was removed \(--rm\)/m);
    // Answered once the monitor has exited: its unmount and the removal are done.
    expect(vmDirs()).toEqual([]);
    expect(processesUsing(home)).toEqual([]);
  });

  it("bad combinations are refused before anything boots", async () => {
    const both = await bootc(home, ["run", DEMO_IMAGE, "--execute", "true", "--", "true"]);
    expect(both.exitCode).toBe(1);
    expect(String(both.stderr)).toContain("give the command after -- or with --execute, not both");
    const empty = await bootc(home, ["run", DEMO_IMAGE, "--"]);
    expect(String(empty.stderr)).toContain("no command after --");
    expect(vmDirs()).toEqual([]);
  });
});

describe("bootc run IMAGE (no command)", () => {
  it("a boot-and-power-off check (poweroff.target) is a success: exit 0, and the CLI and the web console say the guest powered itself off", async () => {
    const r = await bootc(home, ["run", "--name", "offcheck", "--memory", "1G", "--karg", "systemd.unit=poweroff.target", DEMO_IMAGE]);
    expect(r.exitCode, String(r.all)).toBe(0);
    expect(String(r.stderr)).toContain("offcheck: the guest powered itself off");
    const said = { effectiveState: "stopped", reason: "the guest powered itself off", guestPoweredOff: true };
    expect((await bootcJson<Array<{ name: string }>>(home, ["list"])).find((v) => v.name === "offcheck")).toMatchObject(said);
    const server = await serve(home);
    try {
      expect(await client(server).vms.get.query({ name: "offcheck" })).toMatchObject(said);
    } finally {
      await server.stop();
    }
    expect((await bootc(home, ["rm", "offcheck"])).exitCode).toBe(0);
  });
});

describe("bootc test IMAGE", () => {
  it("passes a healthy image: the system is running, the VM is gone — though its SSH port was taken before qemu started", async () => {
    const r = await runWithPortTaken(["test", "--json", "--memory", "1G", DEMO_IMAGE], (record) => record.sshPort);
    expect(r.exitCode, String(r.all)).toBe(0);
    const report = JSON.parse(String(r.stdout));
    expect(report).toMatchObject({ image: DEMO_IMAGE, state: "running", passed: true, failedUnits: [] });
    expect(report.timeline.map((t: { event: string }) => t.event)).toEqual(expect.arrayContaining(["created", "qemu-started", "ssh-ready"]));
    expect(report.systemdAnalyze).toMatch(/^Startup finished in/);
    // Where the boot went, as `bootc inspect NAME --boot --json` reports it.
    expect(report.boot).toMatchObject({ image: DEMO_IMAGE, unitsFrom: "systemd-analyze" });
    expect(report.boot.units.map((u: { name: string }) => u.name)).toContain("ssh.service");
    expect(report.boot.phases.at(-1)).toMatchObject({ name: "userspace to SSH", until: "ssh-ready" });
    expect(vmDirs()).toEqual([]);
  });

  it("fails a degraded one, naming the failed unit with its journal lines", async () => {
    // A mount that cannot succeed (no such filesystem type); nofail keeps the boot going.
    const r = await bootc(home, ["test", "--memory", "1G", "--karg", "systemd.mount-extra=none:/mnt/broken:nosuchfs:nofail", DEMO_IMAGE]);
    expect(r.exitCode, String(r.all)).toBe(1);
    const out = String(r.stdout);
    // The whole report on failure: a boot that failed says why only in its last line.
    expect(out, out).toContain("failed: mnt-broken.mount");
    expect(out, out).toMatch(/nosuchfs|unknown filesystem type|Failed to mount/i);
    expect(out, out).toMatch(/^FAIL localhost\/bootc-demo:latest: degraded$/m);
    expect(out, out).toMatch(/^timeline: created \+0s, .*ssh-ready \+[\d.]+s/m);
    expect(vmDirs()).toEqual([]);
  });
});
