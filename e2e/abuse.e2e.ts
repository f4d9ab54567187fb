/**
 * Hostile input and stale state, without booting a guest: names that climb out of the
 * state directory, disk images that name host files, bad options through the library, a
 * record whose pids now belong to someone else (a host reboot), and a damaged record.
 * Every case must be refused with one sentence, leave nothing written, and signal nobody.
 * The counts are printed for docs/reliability.md.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import net from "node:net";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { Engine } from "../engine/vm/manager.js";
import { enginePaths } from "../engine/core/paths.js";
import { bootc, bootcJson, CLI, DEMO_IMAGE, makeHome, processesUsing, waitUntil } from "./lib/harness.js";
import { rawRequest, serve, signIn } from "./lib/api.js";

const home = makeHome();
const vmsDir = path.join(home, "state/vms");
const vmDirs = () => (existsSync(vmsDir) ? readdirSync(vmsDir) : []);
const tally = { tried: 0, refused: 0 };
const refusedCleanly = (r: { exitCode?: number; stderr?: unknown }, message: RegExp) => {
  tally.tried++;
  expect(r.exitCode).toBe(1);
  const err = String(r.stderr);
  expect(err).toMatch(message);
  expect(err).not.toMatch(/\n\s+at |ZodError|"code":/); // one sentence and a hint, no stack or schema dump
  tally.refused++;
};

afterAll(() => {
  console.log(`abuse.e2e.ts: ${tally.refused} of ${tally.tried} hostile inputs refused with a clear error`);
  expect(processesUsing(home)).toEqual([]);
});

describe("names that climb out of the state directory", () => {
  it("every verb that takes a VM name refuses ../ before touching a path", async () => {
    mkdirSync(vmsDir, { recursive: true });
    const victim = path.join(home, "victim");
    mkdirSync(victim);
    writeFileSync(path.join(victim, "keep.txt"), "precious");
    const name = "../../victim";
    for (const args of [
      ["rm", name],
      ["rm", "--force", name],
      ["logs", name],
      ["inspect", name],
      ["start", name],
      ["stop", name],
      ["stop", "--force", name],
      ["ssh", name, "--", "true"],
      ["console", name],
    ]) {
      refusedCleanly(await bootc(home, args), /is not a valid VM name/);
      expect(existsSync(path.join(victim, "keep.txt")), args.join(" ")).toBe(true);
    }
  });
});

describe("disk images that name host files", () => {
  it("refuses a qcow2 whose backing file is a host file, and one with an external data file", async () => {
    const dir = path.join(home, "downloads");
    mkdirSync(dir);
    const backed = path.join(dir, "backed.qcow2");
    await execa("qemu-img", ["create", "-q", "-f", "qcow2", "-b", "/etc/shadow", "-F", "raw", backed]);
    refusedCleanly(await bootc(home, ["run", "--disk", backed]), /names a backing file \(\/etc\/shadow\).*refused/);
    const dataFile = path.join(dir, "data.raw");
    const external = path.join(dir, "external.qcow2");
    await execa("qemu-img", ["create", "-q", "-f", "qcow2", "-o", `data_file=${dataFile}`, external, "64M"]);
    refusedCleanly(await bootc(home, ["run", "--disk", external]), /names an external data file/);
    expect(vmDirs()).toEqual([]);
  });
});

describe("bad options through the library", () => {
  it("the engine refuses them itself, with one sentence, and writes nothing", async () => {
    const engine = new Engine(enginePaths({ ...process.env, BOOTC_HOME: home }));
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ image: DEMO_IMAGE, user: "root\nf /etc/shadow 0644 root root - x" }, /invalid user/],
      [{ image: DEMO_IMAGE, name: "../../victim" }, /is not a valid VM name/],
      [{ image: DEMO_IMAGE, binds: [{ host: home, guest: "/mnt/x\n/dev/sda /mnt ext4", readOnly: false }] }, /invalid binds\.0\.guest/],
      [{ image: DEMO_IMAGE, forwards: [{ host: 0, guest: 22 }] }, /invalid forwards\.0\.host/],
      [{ image: DEMO_IMAGE, kargs: ["init=/bin/sh console=ttyS1"] }, /invalid kargs\.0/],
      [{ image: DEMO_IMAGE, cpus: 1000 }, /invalid cpus: use 1–64 vCPUs/],
      [{ image: "--rm" }, /invalid image/],
    ];
    for (const [input, message] of bad) {
      tally.tried++;
      const e = await engine.createVm(input as never).then(
        () => undefined,
        (err: unknown) => err as { code?: string; message: string },
      );
      expect(e?.code, JSON.stringify(input)).toBe("INVALID_ARGUMENT");
      expect(e?.message).toMatch(message);
      tally.refused++;
    }
    expect(vmDirs()).toEqual([]);
  });
});

describe("a runtime directory that is not private, or cannot be made", () => {
  it("bootc serve exits 1 with one sentence before it listens (it used to report the error and go on serving)", async () => {
    const cases: Array<[string, (run: string) => void, RegExp]> = [
      ["writable by others", (run) => (mkdirSync(run), chmodSync(run, 0o777)), /the directory .*\/run is writable by others \(mode 777\)/],
      ["a file in its place", (run) => writeFileSync(run, ""), /the directory .*\/run is not a directory/],
    ];
    for (const [what, spoil, message] of cases) {
      const h = makeHome();
      spoil(path.join(h, "run"));
      const r = await bootc(h, ["serve", "--api-only", "--port", "0", "--no-open"], { timeout: 60_000 });
      expect(r.timedOut, `${what}: still serving`).toBe(false);
      refusedCleanly(r, message);
      expect(String(r.stdout), what).not.toMatch(/listening/);
    }
  });
});

describe("a flood of slow requests against a real bootc serve", () => {
  /** A raw connection: what the server answered (0: nothing) and whether it closed the connection. */
  const open = (port: number, head: string, trickle = false) => {
    const c = net.connect(port, "127.0.0.1");
    const conn = {
      got: "",
      closed: false,
      status: () => Number(/^HTTP\/1\.1 (\d{3})/.exec(conn.got)?.[1] ?? 0),
      connected: new Promise<void>((r) => c.once("connect", () => r())),
    };
    // A body byte every half second, the way a slowloris client keeps a request alive.
    const timer = trickle ? setInterval(() => c.writable && c.write("x"), 500) : undefined;
    c.on("data", (d: Buffer) => (conn.got += d.toString("latin1")));
    c.on("error", () => undefined);
    c.on("close", () => ((conn.closed = true), clearInterval(timer)));
    if (head) c.write(head);
    return conn;
  };

  it("slow bodies time out or get 503, trickled API bodies are refused and closed, the token holder and a signed-in session are served throughout, descriptors come back", async () => {
    // Short deadlines (8 s instead of 10 s for headers and 30 s for a request), so the test sees them pass.
    const env = { ...process.env, BOOTC_HOME: home, BOOTC_SERVE_DEADLINE_MS: "8000" };
    const s = await serve(home, ["--api-only"], (args) => execa(process.execPath, [CLI, ...args], { env, reject: false, buffer: false }));
    try {
      const fds = () => readdirSync(`/proc/${s.process.pid}/fd`).length;
      const consoleHost = new URL(s.consoleOrigin).host;
      const session = await signIn(s);
      const before = fds();
      const apiPost = `POST /api/trpc/vms.run HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{`;
      // API requests without a token whose bodies trickle in: refused at once, and closed though the body is still coming.
      const refused = Array.from({ length: 5 }, () => open(s.port, apiPost, true));
      await waitUntil("the unauthenticated API requests to be refused and closed", () => refused.every((c) => c.closed) || undefined, 30_000, 100);
      expect(refused.map((c) => c.status())).toEqual([401, 401, 401, 401, 401]);
      // 300 sign-ins that announce a 4000-byte body and send one byte, 50 connections at a time.
      const signIns = [];
      for (let batch = 0; batch < 6; batch++) {
        const conns = Array.from({ length: 50 }, () =>
          open(
            s.port,
            `POST /api/session HTTP/1.1\r\nHost: ${consoleHost}\r\nOrigin: ${s.consoleOrigin}\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{`,
          ),
        );
        await Promise.all(conns.map((c) => c.connected));
        signIns.push(...conns);
      }
      const trickled = Array.from({ length: 20 }, () => open(s.port, apiPost, true));
      const silent = Array.from({ length: 50 }, () => open(s.port, ""));
      await Promise.all([...trickled, ...silent].map((c) => c.connected));

      const asToken = await rawRequest(s.port, "/api/trpc/vms.list", { headers: { Authorization: `Bearer ${s.token}` } });
      const asSession = await rawRequest(s.port, "/api/trpc/vms.list", { headers: session.headers });
      const held = signIns.filter((c) => !c.closed).length;
      expect(asToken.status, asToken.body).toBe(200);
      expect(asSession.status, asSession.body).toBe(200);
      expect(held, "the flood was over before the token holder asked: lengthen the deadline").toBeGreaterThan(0);

      const all = [...refused, ...signIns, ...trickled, ...silent];
      await waitUntil("the server to close every slow connection", () => all.every((c) => c.closed) || undefined, 60_000, 200);
      const statuses = (conns: typeof all) => [...new Set(conns.map((c) => c.status()))].sort();
      // 503 past the in-flight limit, 408 at the deadline for the rest; 0: dropped as the oldest silent connection before its head was read.
      expect(statuses(signIns).filter((x) => ![0, 408, 503].includes(x))).toEqual([]);
      expect(statuses(signIns)).toContain(503);
      expect(statuses(trickled).filter((x) => ![401, 503].includes(x))).toEqual([]);
      expect(statuses(silent).filter((x) => ![0, 408].includes(x))).toEqual([]);
      const after = await waitUntil("descriptors to be released", () => (fds() <= before + 5 ? fds() : undefined), 30_000, 200);
      console.log(
        `slow-request flood: ${all.length} connections (${held} sign-ins still held when the token holder was served), statuses ${JSON.stringify(statuses(all))}; server fds ${before} before, ${after} after`,
      );
      expect((await rawRequest(s.port, "/api/trpc/vms.list", { headers: { Authorization: `Bearer ${s.token}` } })).status).toBe(200);
    } finally {
      await s.stop();
    }
  });
});

describe("stale state", () => {
  const record = (name: string, pid: number, startId?: string) => ({
    version: 1,
    name,
    image: DEMO_IMAGE,
    imageId: "0".repeat(64),
    mode: "ephemeral",
    createdAt: new Date().toISOString(),
    cpus: 1,
    memoryMiB: 512,
    accel: "tcg",
    accelReason: "test",
    sshUser: "root",
    sshPort: 1,
    identity: "/nonexistent",
    generatedKey: true,
    forwards: [],
    binds: [],
    kargs: [],
    removeOnStop: false,
    readyTimeoutSec: 60,
    state: "ssh-ready",
    monitorPid: pid,
    qemuPid: pid,
    ...(startId ? { monitorStartId: startId, qemuStartId: startId } : {}),
    warnings: [],
    timeline: [],
  });

  it("after a reboot the recorded pids belong to other processes: they are never signalled", async () => {
    // Stand-ins for whatever process got the VM's old pids after a reboot.
    const others = [spawn("sleep", ["600"], { stdio: "ignore" }), spawn("sleep", ["600"], { stdio: "ignore" })];
    try {
      mkdirSync(path.join(vmsDir, "stale1"), { recursive: true });
      writeFileSync(path.join(vmsDir, "stale1/vm.json"), JSON.stringify(record("stale1", others[0]!.pid!)));
      mkdirSync(path.join(vmsDir, "stale2"), { recursive: true });
      writeFileSync(path.join(vmsDir, "stale2/vm.json"), JSON.stringify(record("stale2", others[1]!.pid!, "a-previous-boot:123")));
      const list = await bootcJson<Array<{ name: string; effectiveState: string }>>(home, ["list"]);
      expect(list.filter((v) => v.name.startsWith("stale")).map((v) => v.effectiveState)).toEqual(["failed", "failed"]);
      for (const name of ["stale1", "stale2"]) {
        const stop = await bootc(home, ["stop", "--force", name]);
        expect(stop.exitCode).toBe(1); // not running: nothing to stop
        expect((await bootc(home, ["rm", "--force", name])).exitCode).toBe(0);
      }
      for (const p of others) expect(p.exitCode, "a process that is not the VM's was signalled").toBeNull();
      expect(others.every((p) => p.signalCode === null)).toBe(true);
      expect(vmDirs()).toEqual([]);
    } finally {
      for (const p of others) p.kill("SIGKILL");
    }
  });

  it("a damaged record is listed as broken with one sentence, refused by other verbs, removed by rm --force", async () => {
    mkdirSync(path.join(vmsDir, "torn"), { recursive: true });
    writeFileSync(path.join(vmsDir, "torn/vm.json"), '{"version":1,"name":"torn","image":');
    mkdirSync(path.join(vmsDir, "odd"), { recursive: true });
    writeFileSync(path.join(vmsDir, "odd/vm.json"), JSON.stringify({ version: 1, name: "odd" }));
    const list = await bootcJson<Array<{ name: string; effectiveState: string; broken?: boolean; reason?: string }>>(home, ["list"]);
    expect(list.map((v) => [v.name, v.effectiveState, v.broken])).toEqual([
      ["odd", "failed", true],
      ["torn", "failed", true],
    ]);
    expect(list.find((v) => v.name === "torn")!.reason).toMatch(/^the record of VM "torn" \(vm\.json\) is damaged: it is not JSON; .*bootc rm --force torn$/);
    expect(list.find((v) => v.name === "odd")!.reason).toMatch(/is damaged: image /);
    refusedCleanly(await bootc(home, ["inspect", "odd"]), /the record of VM "odd" \(vm\.json\) is damaged/);
    refusedCleanly(await bootc(home, ["rm", "torn"]), /is damaged/);
    for (const name of ["odd", "torn"]) expect((await bootc(home, ["rm", "--force", name])).exitCode).toBe(0);
    expect(vmDirs()).toEqual([]);
  });
});
