/**
 * Bad input and faults, each with the error a user sees and a check that nothing is left
 * behind. Input errors need no guest; the fault tests start real guests through the
 * engine API and break them while they boot.
 */
import { existsSync, readdirSync, symlinkSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { bootc, DEMO_IMAGE, freePort, makeHome, tempDir, watchImageMounts, processesUsing, waitUntil } from "./lib/harness.js";
import { client, serve, Terminal } from "./lib/api.js";

const home = makeHome();
const mounts = await watchImageMounts("faults.e2e.ts");
process.env.BOOTC_HOME = home; // for the engine API used in-process below
const { Engine } = await import("../dist/engine/index.js");
const { consoleLines } = await import("../dist/engine/core/file-tail.js");
const vmDirs = () => (existsSync(path.join(home, "state/vms")) ? readdirSync(path.join(home, "state/vms")) : []);

async function expectRefused(args: string[], message: RegExp, env?: Record<string, string>) {
  const r = await bootc(home, ["run", ...args], env ? { env } : {});
  expect(r.exitCode, String(r.all)).toBe(1);
  expect(String(r.stderr)).toMatch(message);
  expect(String(r.stderr)).toMatch(/^hint: /m);
  expect(String(r.stderr)).not.toMatch(/\n\s+at /); // no stack trace
  expect(vmDirs()).toEqual([]);
}

describe("bad input is refused with a clear error and leaves nothing behind", () => {
  it("unknown image", () => expectRefused(["no-such-image:1"], /image "no-such-image:1" is not in local storage/));
  it("image without a kernel", () => expectRefused(["localhost/bootc-probe"], /has no kernel: expected \/usr\/lib\/modules/));
  it("invalid VM name", () => expectRefused(["--name", "Bad Name", DEMO_IMAGE], /"Bad Name" is not a valid VM name/));
  it("memory out of range", () => expectRefused(["--memory", "64M", DEMO_IMAGE], /--memory 64M is out of range/));
  it("cpus out of range", () => expectRefused(["--cpus", "0", DEMO_IMAGE], /--cpus 0 is out of range/));
  it("bind source missing", () => expectRefused(["--bind", "/nonexistent/dir:/mnt/x", DEMO_IMAGE], /shared folder \/nonexistent\/dir does not exist/));
  it("bind source not a directory", () => expectRefused(["--bind", "/etc/hostname:/mnt/x", DEMO_IMAGE], /is not a directory/));
  it("unknown option", () => expectRefused(["--frobnicate", DEMO_IMAGE], /^error: unknown option --frobnicate$/m));
  it("a misspelt option: the one that was meant", () => expectRefused(["--memroy", "2G", DEMO_IMAGE], /^hint: did you mean --memory\?/m));
  it("port out of range", () => expectRefused(["-p", "99999:80", DEMO_IMAGE], /port 99999 in -p "99999:80" is out of range/));

  it("host port already taken", async () => {
    const srv = net.createServer().listen(0, "127.0.0.1");
    await new Promise((r) => srv.once("listening", r));
    const port = (srv.address() as net.AddressInfo).port;
    try {
      await expectRefused(["-p", `${port}:80`, DEMO_IMAGE], new RegExp(`host port ${port} is already in use`));
    } finally {
      srv.close();
    }
  });

  it("missing qemu", async () => {
    // A PATH with everything bootc needs except qemu.
    const bin = tempDir("bce-path-");
    for (const tool of ["podman", "ssh", "ssh-keygen", "setpriv", "unshare", "mount", "tar"]) {
      for (const dir of ["/usr/bin", "/bin", "/usr/sbin"]) {
        if (existsSync(path.join(dir, tool))) {
          symlinkSync(path.join(dir, tool), path.join(bin, tool));
          break;
        }
      }
    }
    await expectRefused([DEMO_IMAGE], /qemu-system-x86_64 was not found on PATH/, { PATH: bin });
  });

  it("missing virtiofsd", () =>
    expectRefused([DEMO_IMAGE], /virtiofsd was not found at \/nonexistent\/virtiofsd/, { BOOTC_VIRTIOFSD: "/nonexistent/virtiofsd" }));
});

describe("faults while a guest runs", () => {
  const engine = new Engine();

  afterEach(async () => {
    for (const name of vmDirs()) await engine.removeVm(name, { force: true }).catch(() => undefined);
    expect(processesUsing(home)).toEqual([]);
    expect(await mounts.left()).toEqual([]);
  });

  afterAll(() => {
    expect(vmDirs()).toEqual([]);
  });

  it("two racing runs with one name: one wins, the other gets a clear error", async () => {
    const results = await Promise.allSettled([engine.createVm({ image: DEMO_IMAGE, name: "race" }), engine.createVm({ image: DEMO_IMAGE, name: "race" })]);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]!.reason).toMatchObject({ code: "VM_EXISTS", message: 'a VM named "race" already exists' });
  });

  it("kill -9 of the monitor takes qemu and virtiofsd with it; list says failed; rm cleans up", async () => {
    const vm = await engine.createVm({ image: DEMO_IMAGE, name: "monkill", memoryMiB: 1024 });
    const running = await engine.waitFor(vm.name, "running");
    const children = processesUsing(home).filter((p) => p.pid !== running.monitorPid);
    expect(children.some((p) => p.cmd.includes("qemu-system"))).toBe(true);
    expect(children.some((p) => p.cmd.includes("virtiofsd"))).toBe(true);
    process.kill(running.monitorPid!, "SIGKILL");
    await waitUntil("qemu and virtiofsd to die", () => processesUsing(home).length === 0 || undefined, 30_000);
    const after = await engine.getVm(vm.name);
    expect(after.effectiveState).toBe("failed");
    expect(after.reason).toMatch(/monitor process died/);
    const r = await bootc(home, ["rm", vm.name]);
    expect(r.exitCode, String(r.all)).toBe(0);
    expect(vmDirs()).toEqual([]);
  });

  it("kill -9 of qemu is recorded by the monitor", async () => {
    const vm = await engine.createVm({ image: DEMO_IMAGE, name: "qemukill", memoryMiB: 1024 });
    const running = await engine.waitFor(vm.name, "running");
    process.kill(running.qemuPid!, "SIGKILL");
    const after = await waitUntil(
      "the monitor to record the failure",
      async () => {
        const v = await engine.getVm(vm.name);
        return v.state === "failed" ? v : undefined;
      },
      30_000,
    );
    expect(after.reason).toBe("qemu was killed by SIGKILL");
    const list = await bootc(home, ["list"]);
    expect(list.stdout).toMatch(/qemukill\s+\S+\s+\S+\s+ephemeral\s+failed/);
  });

  it("kill -9 of virtiofsd ends the VM with the reason, leaving nothing behind", async () => {
    const vm = await engine.createVm({ image: DEMO_IMAGE, name: "fskill", memoryMiB: 1024 });
    await engine.waitFor(vm.name, "running");
    const virtiofsd = processesUsing(home).find((p) => p.cmd.includes("virtiofsd") && !p.cmd.startsWith("setpriv"));
    expect(virtiofsd).toBeDefined();
    process.kill(virtiofsd!.pid, "SIGKILL");
    const after = await waitUntil(
      "the monitor to end the VM",
      async () => {
        const v = await engine.getVm(vm.name);
        return v.state === "failed" ? v : undefined;
      },
      30_000,
    );
    expect(after.reason).toMatch(/^virtiofsd serving .* was killed by SIGKILL; the guest lost that filesystem$/);
    await waitUntil("its processes to end", () => processesUsing(home).length === 0 || undefined, 30_000);
  });

  it("two starts of one stopped VM at once: one boots it, the other is refused, one monitor runs", async () => {
    const vm = await engine.createVm({ image: DEMO_IMAGE, name: "twostart", memoryMiB: 1024 });
    await engine.waitFor(vm.name, "running");
    await engine.stopVm(vm.name, { force: true });
    const results = await Promise.allSettled([engine.startVm(vm.name), engine.startVm(vm.name)]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const lost = results.find((r): r is PromiseRejectedResult => r.status === "rejected")!;
    expect(["VM_BUSY", "VM_RUNNING"]).toContain(lost.reason.code);
    await engine.waitFor(vm.name, "running");
    const monitors = processesUsing(home).filter((p) => p.cmd.includes("direct/main.js twostart"));
    expect(monitors).toHaveLength(1);
  });

  it("a guest that ignores ACPI power-down is killed after the stop timeout", async () => {
    const vm = await engine.createVm({ image: DEMO_IMAGE, name: "noacpi", memoryMiB: 1024, kargs: ["acpi=off"] });
    await engine.waitFor(vm.name, "running");
    const stopped = await engine.stopVm(vm.name, { timeoutSec: 5 });
    expect(stopped.effectiveState).toBe("stopped");
    expect(stopped.reason).toMatch(/ignored ACPI power-down for 5s and was killed/);
  });

  it("kill -9 of the server at each boot phase: the VM boots on, and the next server sees it and reaches it", async () => {
    // The server only talks to monitors: killing it must neither stop nor orphan the VM.
    let server = await serve(home);
    const killServer = async () => {
      server.process.kill("SIGKILL");
      await server.process;
      server = await serve(home);
    };
    const state = async () => (await client(server).vms.list.query()).find((v) => v.name === "srvkill")?.effectiveState;
    try {
      await client(server).vms.run.mutate({ image: DEMO_IMAGE, name: "srvkill", memoryMiB: 1024 });
      const killedAt = [await state()]; // creating, or booting already
      await killServer();
      await waitUntil("the guest's first output", async () => ((await state()) === "running" ? true : undefined), 300_000, 250);
      killedAt.push(await state());
      await killServer();
      await waitUntil("ssh-ready", async () => ((await state()) === "ssh-ready" ? true : undefined), 600_000, 1000);
      killedAt.push(await state());
      await killServer();
      expect(killedAt.slice(1)).toEqual(["running", "ssh-ready"]);
      expect(await state()).toBe("ssh-ready");
      const serial = await Terminal.open(server, "/api/term/serial/srvkill");
      await serial.waitFor(/login:/);
      serial.close();
      await client(server).vms.stop.mutate({ name: "srvkill" });
      expect(await state()).toBe("stopped");
    } finally {
      await server.stop();
    }
  });

  it("rm --all removes every stopped VM and leaves running ones unless forced; with no VMs it is not an error", async () => {
    for (const name of ["ra1", "ra2", "ra3"]) await engine.createVm({ image: DEMO_IMAGE, name, memoryMiB: 1024 });
    for (const name of ["ra1", "ra2"]) expect((await engine.stopVm(name, { force: true })).effectiveState).toBe("stopped");
    const first = await bootc(home, ["rm", "--all", "--json"]);
    expect(first.exitCode, String(first.all)).toBe(0);
    expect(JSON.parse(String(first.stdout))).toEqual({
      removed: [
        { name: "ra1", notes: [] },
        { name: "ra2", notes: [] },
      ],
      running: ["ra3"],
    });
    expect(vmDirs()).toEqual(["ra3"]);
    const forced = await bootc(home, ["rm", "--all", "--force"]);
    expect(forced.exitCode, String(forced.all)).toBe(0);
    expect(String(forced.stdout)).toContain("removed ra3");
    const none = await bootc(home, ["rm", "--all"]);
    expect(none.exitCode).toBe(0);
    expect(String(none.stdout)).toContain("no VMs to remove");
    expect(vmDirs()).toEqual([]);
  });

  it("run --replace replaces a running VM of that name with the same ports, but only once the new input has been checked", async () => {
    const port = await freePort();
    const forwards = [{ host: port, guest: 80 }];
    const old = await engine.createVm({ image: DEMO_IMAGE, name: "rep", memoryMiB: 1024, forwards });
    await engine.waitFor("rep", "running"); // qemu listens on the port now
    // A typo in the new run must not cost the old VM.
    const typo = await bootc(home, ["run", "--replace", "--name", "rep", "-p", `${port}:80`, "--memory", "64M", DEMO_IMAGE]);
    expect(typo.exitCode).toBe(1);
    expect(String(typo.stderr)).toMatch(/--memory 64M is out of range/);
    expect(await engine.getVm("rep")).toMatchObject({ createdAt: old.createdAt, effectiveState: "running" });
    const plain = await bootc(home, ["run", "--name", "rep", DEMO_IMAGE]);
    expect(String(plain.stderr)).toMatch(/already exists[\s\S]*--replace/);
    // The port the old VM holds is not "in use" for the VM that replaces it; anyone else's is.
    const fresh = await engine.createVm({ image: DEMO_IMAGE, name: "rep", memoryMiB: 1024, forwards, replace: true });
    expect(fresh.createdAt).not.toBe(old.createdAt);
    expect(["creating", "booting", "running"]).toContain((await engine.getVm("rep")).effectiveState);
    await engine.waitFor("rep", "running");
    const other = await bootc(home, ["run", "--name", "rep2", "-p", `${port}:80`, DEMO_IMAGE]);
    expect(String(other.stderr)).toMatch(new RegExp(`host port ${port} is already in use`));
  });

  it("a guest whose SSH never answers runs on for its serial console: run says how to reach it, quoting the serial log", async () => {
    // sshd masked: the guest comes up to its login prompt, but nothing answers SSH.
    const r = await bootc(home, ["run", "--name", "nossh", "--memory", "1G", "--timeout", "10", "--karg", "systemd.mask=ssh.service", DEMO_IMAGE]);
    expect(r.exitCode, String(r.all)).toBe(1);
    expect(String(r.stderr)).toMatch(/^error: VM "nossh": SSH did not answer within 10 s; /m);
    expect(String(r.stderr)).toMatch(/^hint: .*bootc console nossh.*bootc logs nossh/m);
    expect(String((await bootc(home, ["list"])).stdout)).toMatch(/nossh\s+\S+\s+\S+\s+ephemeral\s+(booting|running)\s+no answer/); // a 10 s timeout can come before the first serial byte
    // The serial console reaches it: replay, then the getty's banner and login prompt.
    const console_ = bootc(home, ["console", "nossh"], { stdin: "pipe" });
    let seen = "";
    console_.stdout!.on("data", (d: Buffer) => (seen += d.toString()));
    await waitUntil("the login prompt on the serial console", () => /login:/.test(seen) || undefined, 600_000, 1000);
    console_.stdin!.write("\x1d"); // Ctrl+] detaches
    expect((await console_).exitCode).toBe(0);
    // Asked again, the wait says why at once, quoting what the serial log really ends with.
    // That need not be the login prompt: systemd's status lines (on the virtio console, which
    // shares the log) go on after the getty starts, and a slow boot prints more than ten.
    const again = await engine.waitFor("nossh", "ssh-ready").then(
      () => undefined,
      (e: { code?: string; message?: string }) => e,
    );
    expect(again).toMatchObject({ code: "BOOT_TIMEOUT", message: expect.stringContaining("last serial lines:\n") });
    const quoted = String(again?.message).split("last serial lines:\n")[1]!.split("\n");
    expect(quoted.length).toBeLessThanOrEqual(10);
    const logged = consoleLines(String((await bootc(home, ["logs", "nossh"])).stdout), Infinity); // as the engine reads it
    // The quoted lines are a run of the log (lines may have been added since), at or after its login prompt.
    const at = logged.findIndex((_, i) => quoted.every((q, j) => logged[i + j] === q));
    expect(at, `quoted:\n${quoted.join("\n")}\nlog ends:\n${logged.slice(-20).join("\n")}`).toBeGreaterThanOrEqual(0);
    const prompt = logged.findIndex((l) => /login:/.test(l));
    expect(prompt).toBeGreaterThanOrEqual(0);
    expect(prompt).toBeLessThan(at + quoted.length);
    expect(await engine.getVm("nossh")).toMatchObject({ effectiveState: "running", sshFailed: "SSH did not answer within 10 s" });
    expect(String((await bootc(home, ["list"])).stdout)).toMatch(/nossh\s+\S+\s+\S+\s+ephemeral\s+running\s+no answer/);
    expect(String((await bootc(home, ["ssh", "nossh", "--", "true"])).stderr)).toMatch(/VM "nossh" does not answer SSH[\s\S]*bootc console nossh/);
  });

  it("a kernel panic in the boot: one thread fails at once; multi-threaded TCG resets once, says why, and fails on the second", async () => {
    // init exits at once (rdinit=true), so the kernel panics at the end of every boot of this VM: deterministic, a few seconds in.
    const panicking = (name: string, threads: string) =>
      bootc(home, ["run", "--name", name, "--memory", "1G", "--karg", "rdinit=/usr/bin/true", DEMO_IMAGE], { env: { BOOTC_TCG_THREADS: threads } });
    const [single, multi] = await Promise.all([panicking("panic1", "single"), panicking("panicm", "multi")]);
    for (const [r, name] of [
      [single, "panic1"],
      [multi, "panicm"],
    ] as const) {
      expect(r.exitCode, String(r.all)).toBe(1);
      expect(String(r.stderr)).toMatch(
        new RegExp(`^error: VM "${name}" did not boot: the guest kernel panicked; last serial lines:\\n[^]*Attempted to kill init`, "m"),
      );
    }
    const events = async (name: string) => ((await engine.getVm(name)) as { timeline: Array<{ event: string }> }).timeline.map((t) => t.event);
    expect(String(single.stderr)).not.toMatch(/resetting it/);
    expect(await events("panic1")).not.toContain("kernel-panic-reset");
    expect(String(multi.stderr)).toMatch(
      /^ {2}warning: the guest kernel panicked early in the boot under multi-threaded TCG .*resetting it to boot once more$/m,
    );
    expect((await events("panicm")).filter((e) => e === "kernel-panic-reset")).toHaveLength(1);
    // Two boots in the multi-threaded VM's log, each ending in its own panic (a panic's closing line is not counted); one in the other.
    const panics = async (name: string) =>
      String((await bootc(home, ["logs", name])).stdout)
        .split("\n")
        .filter((l) => l.includes("Kernel panic - not syncing: Attempted to kill init") && !l.includes("---[ end")).length;
    expect(await panics("panicm")).toBe(2);
    expect(await panics("panic1")).toBe(1);
    for (const name of ["panic1", "panicm"]) expect((await bootc(home, ["rm", name])).exitCode).toBe(0);
  });

  it("--rm removes the VM when it stops", async () => {
    const vm = await engine.createVm({ image: DEMO_IMAGE, name: "gone", memoryMiB: 1024, removeOnStop: true });
    await engine.waitFor(vm.name, "running");
    await engine.stopVm(vm.name, { force: true });
    await waitUntil("the VM directory to go", () => !vmDirs().includes("gone") || undefined, 20_000);
  });
});
