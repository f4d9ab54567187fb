/**
 * Rootless: a regular user with rootless podman (its own image storage, a user namespace of
 * subordinate ids) boots, reaches and removes VMs without sudo. The suite runs as root, so
 * these tests run the real CLI as the user `bootc-rootless` (made by `scripts/setup.sh
 * --tests`), whose podman storage is given the demo image here. One ephemeral guest, booted
 * with the CLI from vfs storage, is shared by the tests that only look at it; then, with
 * overlay storage, the user's `bootc serve` boots a disk-mode guest and serves its consoles.
 */
import { chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { execa, type Options, type ResultPromise } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, DEMO_BANNER, DEMO_IMAGE, freePort, processesUsing, tempDir, waitUntil } from "./lib/harness.js";
import { account, asUser, giveUserDemoImage, USER, userProcesses, useStorageDriver } from "./lib/rootless-user.js";
import { api, client, serve, Terminal, type Served } from "./lib/api.js";

const home = tempDir("bce-rl-");
chownSync(home, account.uid, account.gid);
const share = path.join(home, "share");
/** `bootc` as the user, with its state under `home`. */
const bootcAs = (args: string[], options: Options = {}) => asUser(["env", `BOOTC_HOME=${home}`, process.execPath, CLI, ...args], options);
/** `bootc` as the user, in the user's own XDG directories (no XDG_RUNTIME_DIR, as under su or cron). */
const bootcXdg = (args: string[], options: Options = {}) => asUser([process.execPath, CLI, ...args], options);
const ssh = (name: string, script: string) => bootcAs(["ssh", name, "--", script]);
const sshXdg = (name: string, script: string) => bootcXdg(["ssh", name, "--", script]);
const NAME = "rl";

/** Images the user's podman has mounted (in its namespace); none once the VMs are gone. */
const userMounts = async () => String((await asUser(["podman", "unshare", "podman", "image", "mount"])).stdout).trim();

beforeAll(async () => {
  await useStorageDriver("vfs");
  await giveUserDemoImage();
  mkdirSync(share);
  writeFileSync(path.join(share, "from-host"), "hello from the host\n");
  chownSync(share, account.uid, account.gid);
}, 300_000);

afterAll(async () => {
  await bootcXdg(["rm", "--force", NAME]);
  await bootcAs(["rm", "--all", "--force"]);
  expect(processesUsing(home)).toEqual([]);
  expect(userProcesses()).toEqual([]);
  expect(await userMounts()).toBe("");
});

describe("as a regular user with rootless podman", () => {
  let port = 0;
  const runtime = `/tmp/bootc-console-${account.uid}`;
  it("boots the demo image in ephemeral mode with a shared folder and a forwarded port", async () => {
    port = await freePort();
    const r = await bootcXdg(["run", "--name", NAME, "--memory", "1G", "--bind", `${share}:/mnt/share`, "-p", `${port}:22`, DEMO_IMAGE]);
    expect(r.exitCode, String(r.all)).toBe(0);
    expect(String(r.all)).toMatch(/warning: -p ports go through passt, .*speaks first/);
    const vm = JSON.parse(String((await bootcXdg(["inspect", NAME, "--json"])).stdout));
    expect(vm.state).toBe("ssh-ready");
    // Everything runs as the user: the monitor, qemu and virtiofsd, none of them root's.
    expect(userProcesses().map((p) => p.cmd)).toEqual(
      expect.arrayContaining([expect.stringMatching(/direct\/main\.js rl$/), expect.stringMatching(/^\S*qemu-system/), expect.stringMatching(/virtiofsd/)]),
    );
    expect(processesUsing(runtime).filter((p) => statSync(`/proc/${p.pid}`).uid !== account.uid)).toEqual([]);
  }, 900_000);

  it("serves the image's files with their in-image owners, and the user's share as the guest's root", async () => {
    const r = await sshXdg(NAME, "stat -c '%U:%G %a' /etc/shadow; cat /mnt/share/from-host; echo made-in-guest > /mnt/share/from-guest");
    expect(r.exitCode, String(r.all)).toBe(0);
    expect(String(r.stdout)).toBe("root:shadow 640\nhello from the host");
    const made = statSync(path.join(share, "from-guest"));
    expect([made.uid, readFileSync(path.join(share, "from-guest"), "utf8")]).toEqual([account.uid, "made-in-guest\n"]);
  });

  it("forwards the published port to the guest", async () => {
    // As an ssh client does, speak first: Debian 12's passt completes an inbound connection
    // only once the client sends (docs/engine.md, "Limits"), so a server-first wait would hang.
    const banner = await new Promise<string>((resolve, reject) => {
      const c = net.createConnection(port, "127.0.0.1", () => c.write("SSH-2.0-bootc-e2e\r\n"));
      const timer = setTimeout(() => (c.destroy(), reject(new Error(`no answer on 127.0.0.1:${port} in 60 s`))), 60_000);
      c.once("data", (d) => (clearTimeout(timer), resolve(d.toString()), c.destroy()));
      c.once("error", (e) => (clearTimeout(timer), reject(e)));
    });
    expect(banner).toMatch(/^SSH-2\.0-/);
  }, 90_000);

  it("attaches the serial console", async () => {
    const con = bootcXdg(["console", NAME], { stdin: "pipe", buffer: false });
    let out = "";
    con.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    con.stdin?.write("\r");
    await waitUntil("the login prompt", () => (out.includes(DEMO_BANNER) && / login:/.test(out)) || undefined, 60_000, 200).catch(() => undefined);
    con.stdin?.write(Buffer.from([0x1d]));
    expect((await con).exitCode).toBe(0);
    expect(out).toMatch(/ login:/);
  });

  it("keeps its state in the user's XDG directories and its sockets in a private runtime directory; root's list does not show it", async () => {
    const mine = JSON.parse(String((await bootcXdg(["list", "--json"])).stdout)) as Array<{ name: string }>;
    expect(mine.map((v) => v.name)).toContain(NAME);
    for (const dir of [path.join(account.home, ".local/state/bootc-console/vms", NAME), runtime]) {
      const st = statSync(dir);
      expect([dir, st.uid, st.mode & 0o077]).toEqual([dir, account.uid, 0]);
    }
    const { BOOTC_HOME: _, ...rootEnv } = process.env;
    const roots = await execa(process.execPath, [CLI, "list", "--json"], { env: rootEnv, extendEnv: false });
    expect((JSON.parse(roots.stdout) as Array<{ name: string }>).map((v) => v.name)).not.toContain(NAME);
  });

  it("stops and removes it, leaving no process and no image mounted", async () => {
    expect((await bootcXdg(["stop", NAME])).exitCode).toBe(0);
    expect((await bootcXdg(["rm", NAME])).exitCode).toBe(0);
    expect(userProcesses()).toEqual([]);
    expect(await userMounts()).toBe("");
  }, 300_000);

  it("doctor checks the rootless set-up, and says how to reach /dev/kvm", async () => {
    const r = await bootcXdg(["doctor", "--json"]);
    const rows = (JSON.parse(String(r.stdout)) as { rows: Array<{ id: string; status: string; detail: string; fix?: string }> }).rows;
    expect(rows.find((x) => x.id === "rootless")).toMatchObject({ status: "ok", detail: expect.stringContaining(`subordinate ids for ${USER}`) });
    // Where /dev/kvm is there but not the user's (here: root's, mode 0600), the fix says how to get at it.
    const kvm = statSync("/dev/kvm", { throwIfNoEntry: false });
    if (kvm && !(kvm.mode & 0o006)) expect(rows.find((x) => x.id === "accel")?.fix).toMatch(new RegExp(`usermod -aG \\w+ ${USER}`));
  });

  it("refuses the install builder, which needs a privileged container, with what to use instead", async () => {
    const r = await bootcAs(["run", "--mode", "disk", "--builder", "install", DEMO_IMAGE]);
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toMatch(/install builder .* rootless podman cannot start[\s\S]*--builder direct/);
  });

  describe("the web console, served by the user, with podman's overlay storage", () => {
    let server: Served;
    beforeAll(async () => {
      await useStorageDriver("overlay");
      await giveUserDemoImage();
      server = await serve(home, [], (args) => bootcAs(args, { buffer: false }) as ResultPromise);
    }, 300_000);
    afterAll(() => server?.stop());

    it("boots disk mode with the direct builder, whose disk keeps the in-image owners", async () => {
      await client(server).vms.run.mutate({ image: DEMO_IMAGE, name: "rld", memoryMiB: 1024, mode: "disk" });
      await api(server).subscribe<{ type: string; state?: string; record?: { state: string } }>("vms.watch", { name: "rld" }, (e) => {
        if (e.type === "state" && e.state === "failed") throw new Error(`boot failed: ${JSON.stringify(e)}`);
        return (e.type === "state" && e.state === "ssh-ready") || (e.type === "snapshot" && e.record?.state === "ssh-ready");
      });
      const vm = JSON.parse(String((await bootcAs(["inspect", "rld", "--json"])).stdout));
      expect(vm.disk.builder).toBe("direct");
      const w = await ssh("rld", "stat -c '%U:%G' /etc/shadow /usr/bin/passwd");
      expect(String(w.stdout), String(w.all)).toBe("root:shadow\nroot:root");
    }, 900_000);

    it("serves its serial and SSH consoles", async () => {
      const serial = await Terminal.open(server, "/api/term/serial/rld");
      serial.send("\r");
      await serial.waitFor(/ login:/, 60_000);
      serial.close();
      const shell = await Terminal.open(server, "/api/term/ssh/rld?cols=80&rows=24");
      await shell.waitFor(/[#$] $/m, 60_000);
      shell.send("echo web-$((6*7))\n");
      await shell.waitFor(/^web-42\r?$/m);
      shell.close();
    });

    it("removes it", async () => {
      await client(server).vms.remove.mutate({ name: "rld", force: true });
      expect(JSON.parse(String((await bootcAs(["list", "--json"])).stdout))).toEqual([]);
    });

    it("exports a disk image with bootc to-disk, from the base disk the boot made", async () => {
      const file = path.join(home, "rl.qcow2");
      const r = await bootcAs(["to-disk", "--json", DEMO_IMAGE, file]);
      expect(r.exitCode, String(r.all)).toBe(0);
      expect(JSON.parse(String(r.stdout))).toMatchObject({ file, format: "qcow2", reused: true });
      expect(statSync(file).uid).toBe(account.uid);
      const disks = JSON.parse(String((await bootcAs(["disks", "--json"])).stdout)) as Array<{ builder: string; image: string }>;
      expect(disks).toEqual([expect.objectContaining({ builder: "direct", image: DEMO_IMAGE })]);
    }, 300_000);
  });
});
