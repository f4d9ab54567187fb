/**
 * The libvirt runtime on real parts: libvirtd and virtlogd (started by the test), a real
 * guest under TCG, and a "remote" host reached over qemu+ssh through an OpenSSH server on
 * 127.0.0.1 — the whole remote flow (upload into a pool, define, boot, SSH and console
 * through the host, rm) runs over SSH. Both VMs get a cloud-init seed (a volume on their
 * host). Four boots: one local, and a premade UEFI disk there; one remote under
 * `bootc run --watch --rmi`, and its reboot into a rebuilt image.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bootc, bootcJson, DEMO_IMAGE, makeHome, makePremadeDisk, processesUsing, tempDir, waitUntil } from "./lib/harness.js";
import { startLibvirt, startSshServer, type LibvirtHost, type SshServer } from "./lib/libvirt-host.js";

const home = makeHome();
const shareDir = path.join(home, "share");
const DEMO_CLOUD_IMAGE = "localhost/bootc-demo-cloud:latest";
const WATCH_TAG = "localhost/bootc-libvirt-watch-e2e:latest";

/** A NoCloud seed whose user-data writes `marker` into the guest. */
function cloudSeed(marker: string): string {
  const seed = tempDir("bce-lv-cloud-");
  writeFileSync(path.join(seed, "meta-data"), `instance-id: ${marker}\n`);
  writeFileSync(path.join(seed, "user-data"), ["#cloud-config", "write_files:", "  - path: /var/tmp/from-cloud-init", `    content: ${marker}`, ""].join("\n"));
  return seed;
}
const virsh = async (args: string[]) => String((await execa("virsh", ["-q", "-c", "qemu:///system", ...args], { reject: false })).stdout);
const domState = async (name: string) => (await virsh(["domstate", name])).trim();

interface Vm {
  name: string;
  effectiveState: string;
  connection?: string;
  hostName?: string;
  autostart?: boolean;
  sshPort?: number;
}

let host: LibvirtHost;
let sshd: SshServer;

beforeAll(async () => {
  host = await startLibvirt();
  sshd = await startSshServer();
  expect((await bootc(home, ["hosts", "add", "here", "qemu:///system", "--pool", host.pool])).exitCode).toBe(0);
  expect((await bootc(home, ["hosts", "add", "far", sshd.uri, "--pool", host.pool])).exitCode).toBe(0);
});

afterAll(async () => {
  const vms = await bootcJson<Vm[]>(home, ["list"]).catch(() => [] as Vm[]);
  for (const vm of vms) await bootc(home, ["rm", "--force", vm.name]);
  for (const name of ["lvl", "lvp", "lvr"]) {
    await virsh(["destroy", name]);
    await virsh(["undefine", name]);
  }
  await execa("podman", ["rmi", "-f", WATCH_TAG], { reject: false });
  await sshd?.stop();
  await host?.stop();
  expect(processesUsing(home)).toEqual([]);
});

/** Drives `bootc console NAME` until `pattern` shows, then detaches. */
async function consoleShows(name: string, type: string, pattern: RegExp): Promise<string> {
  const con = bootc(home, ["console", name], { stdin: "pipe", buffer: false });
  let out = "";
  con.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  con.stdin?.write(type);
  try {
    await waitUntil(`${pattern} on the console`, () => (pattern.test(out) ? true : undefined), 60_000, 200);
  } finally {
    con.stdin?.write(Buffer.from([0x1d]));
    await con;
  }
  return out;
}

describe("bad libvirt input is refused with one sentence, before anything is made", () => {
  it.each([
    [["--connect", "xen:///system"], /^error: "xen:\/\/\/system" is not a libvirt connection bootc can use: the xen driver/m],
    [["--connect", "qemu+ssh://root@127.0.0.1:1/system?keyfile=/x&shell=1"], /^error: .*the parameter shell is not supported/m],
    [["--connect", "nosuchhost"], /^error: no saved host named "nosuchhost"/m],
    [["--connect", "here", "--mode", "ephemeral"], /^error: ephemeral mode cannot be used with --connect/m],
    [["--connect", "here", "--cloudinit", "imds:/tmp"], /^error: --cloudinit imds: cannot be used with --connect[^]*hint: .*--cloudinit DIR/m],
    [["--connect", "far", "--bind", "/tmp:/mnt"], /^error: --bind cannot be used with a libvirt VM on another host/m],
    [["--autostart"], /^error: --autostart needs a libvirt VM/m],
    // Credentials are in the domain definition, which libvirt's read-only socket shows to any local user.
    [["--connect", "here", "--password=hunter2"], /^error: --password cannot be used with --connect/m],
    [["--connect", "here", "--ks", "KS"], /^error: the kickstart sets passwords, which a libvirt VM's definition would show/m],
  ])("bootc run %j", async (flags, message) => {
    const ks = path.join(home, "pw.ks");
    writeFileSync(ks, "rootpw --plaintext hunter2\n");
    const r = await bootc(home, ["run", ...flags.map((f) => (f === "KS" ? ks : f)), "--name", "bad", DEMO_IMAGE]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack
    expect(await domState("bad")).toBe("");
  });

  it("says a host that does not answer cannot be reached, and leaves nothing", async () => {
    const dead = "qemu+ssh://root@127.0.0.1:9/system?no_verify=1";
    const r = await bootc(home, ["run", "--connect", dead, "--name", "bad", DEMO_IMAGE]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^error: libvirt at qemu\+ssh:\/\/root@127\.0\.0\.1:9\/system\?no_verify=1 cannot be reached/m);
    expect(r.stderr).toMatch(/check that root@127\.0\.0\.1:9 answers SSH/);
    // A URI is saved only once a VM was made there.
    expect((await bootcJson<Array<{ name: string }>>(home, ["hosts"])).map((h) => h.name)).toEqual(["here", "far"]);
  });

  it("names a storage pool that does not exist", async () => {
    expect((await bootc(home, ["hosts", "add", "nopool", "qemu:///system", "--pool", "bce-missing"])).exitCode).toBe(0);
    const r = await bootc(home, ["run", "--connect", "nopool", "--name", "bad", DEMO_IMAGE]);
    await bootc(home, ["hosts", "rm", "nopool"]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^error: storage pool bce-missing does not exist on libvirt/m);
    expect(await domState("bad")).toBe("");
  });
});

describe("bootc doctor with libvirt hosts saved", () => {
  it("checks each one: daemon, qemu driver, storage pool", async () => {
    const report = await bootcJson<{ rows: Array<{ id: string; status: string; detail: string }> }>(home, ["doctor"]);
    expect(report.rows.find((r) => r.id === "libvirt:here")).toMatchObject({
      status: "ok",
      detail: expect.stringMatching(/^qemu:\/\/\/system: QEMU [\d.]+, virtiofs, pool bce-test-\d+ active$/),
    });
    expect(report.rows.find((r) => r.id === "libvirt:far")).toMatchObject({ status: "ok", detail: expect.stringMatching(/^qemu\+ssh:.*: QEMU/) });
  });
});

describe("a VM on this host's libvirt (qemu:///system)", () => {
  it("boots as a persistent libvirt domain, listed by bootc and virsh", async () => {
    mkdirSync(shareDir);
    writeFileSync(path.join(shareDir, "from-host.txt"), "shared\n");
    const r = await bootc(home, [
      "run",
      "--connect",
      "here",
      "--autostart",
      "--bind",
      `${shareDir}:/mnt/share`,
      "--cloudinit",
      cloudSeed("seeded-here"),
      "--name",
      "lvl",
      DEMO_CLOUD_IMAGE,
    ]);
    expect(r.exitCode, String(r.all)).toBe(0);
    expect(r.stderr).toMatch(/base-volume-uploaded/);
    expect(r.stdout).toMatch(/lvl is ready/);
    expect(await virsh(["list", "--all", "--name"])).toMatch(/^lvl$/m);
    expect(await domState("lvl")).toBe("running");
    const vm = (await bootcJson<Vm[]>(home, ["list"])).find((v) => v.name === "lvl")!;
    expect(vm).toMatchObject({ effectiveState: "running", connection: "qemu:///system", hostName: "here", autostart: true });
    expect((await bootc(home, ["list"])).stdout).toMatch(/^lvl\s.*running.*\shere$/m);
  });

  it("is reached by ssh, console and logs, shares a host folder, and keeps what the guest writes", async () => {
    const r = await bootc(home, ["ssh", "lvl", "--", "echo kept > /var/kept; sync; systemctl is-system-running --wait; uname -n"]);
    expect(r.stdout).toMatch(/bootc-demo/);
    // The share, through libvirt's virtiofsd: the host's file is seen, and the guest's write lands on the host.
    expect(String((await bootc(home, ["ssh", "lvl", "--", "cat /mnt/share/from-host.txt; echo guest > /mnt/share/from-guest.txt"])).stdout)).toBe("shared");
    expect(readFileSync(path.join(shareDir, "from-guest.txt"), "utf8")).toBe("guest\n");
    expect(await consoleShows("lvl", "\r", /login:/)).toMatch(/login:/);
    expect((await bootc(home, ["logs", "lvl"])).stdout).toMatch(/Debian GNU\/Linux/);
  });

  it("has no USB controller or memory balloon, which libvirt adds unless told not to", async () => {
    const r = await bootc(home, ["ssh", "lvl", "--", "cat /sys/bus/pci/devices/*/class; echo --; cat /sys/bus/virtio/devices/*/device"]);
    expect(r.exitCode, String(r.all)).toBe(0);
    const [pci, virtio] = String(r.stdout)
      .split(/^--$/m)
      .map((s) => s.trim().split("\n"));
    expect(pci!.filter((c) => c.startsWith("0x0c03"))).toEqual([]); // a USB controller
    expect(virtio).toContain("0x0002"); // the disk, so the list is real
    expect(virtio).not.toContain("0x0005"); // virtio's memory balloon
  });

  it("got its cloud-init seed from a volume on the host", async () => {
    const r = await bootc(home, ["ssh", "lvl", "--", "cloud-init status --wait >/dev/null; cat /var/tmp/from-cloud-init"]);
    expect(String(r.stdout)).toBe("seeded-here");
    expect(await virsh(["vol-list", host.pool])).toMatch(/bootc-vm-lvl-seed\.iso/);
  });

  it("bootc logs -f follows the serial log while the VM runs", async () => {
    const follow = bootc(home, ["logs", "-f", "lvl"], { buffer: false });
    let seen = "";
    follow.stdout?.on("data", (d: Buffer) => (seen += d.toString()));
    await waitUntil("the log so far", () => /Debian GNU\/Linux/.test(seen) || undefined, 30_000, 200);
    // What the guest prints now arrives while -f runs.
    await bootc(home, ["ssh", "lvl", "--", "for i in 1 2 3; do echo followed-line-$((6*7)) > /dev/ttyS0 && break; sleep 1; done"]);
    await waitUntil("the new line", () => seen.includes("followed-line-42") || undefined, 30_000, 200);
    expect(follow.exitCode).toBe(null); // still following
    follow.kill("SIGTERM");
    await follow.catch(() => undefined);
  });

  it("survives a restart of libvirtd: the domain runs on and bootc finds it", async () => {
    await host.restartLibvirtd();
    expect(await domState("lvl")).toBe("running");
    expect(String((await bootc(home, ["ssh", "lvl", "--", "cat /var/kept"])).stdout).trim()).toBe("kept");
  });

  it("stops (ACPI); stopped, it keeps the runtime contract every runtime keeps (engine/runtime/contract.ts)", async () => {
    expect((await bootc(home, ["stop", "lvl"])).exitCode).toBe(0);
    expect(await domState("lvl")).toBe("shut off");
    const { RUNTIME_CONTRACT } = await import("../dist/engine/runtime/contract.js");
    const { LibvirtRuntime } = await import("../dist/engine/runtime/libvirt/vms.js");
    const runtime = new LibvirtRuntime({ state: path.join(home, "state"), cache: path.join(home, "cache"), runtime: path.join(home, "run") });
    for (const c of RUNTIME_CONTRACT) await c.run(runtime, { unknown: "nosuchvm", stopped: "lvl" });
  });

  it("boots a premade UEFI disk there (uploaded as it is, never written), reached by SSH, and removes it", async () => {
    // The premade disk is made from the base disk the first VM's image was built into.
    const disks = path.join(home, "cache/disks");
    const entry = readdirSync(disks).find((d) => existsSync(path.join(disks, d, "disk.raw")));
    expect(entry, "a direct-built base disk in the cache").toBeDefined();
    const raw = await makePremadeDisk(path.join(disks, entry!));
    const file = raw.replace(/\.raw$/, ".qcow2");
    await execa("qemu-img", ["convert", "-O", "qcow2", raw, file]);
    const digest = async () => String((await execa("sha256sum", [file])).stdout).split(" ")[0];
    const before = await digest();
    const r = await bootc(home, ["run", "--connect", "here", "--disk", file, "--name", "lvp", "--memory", "1G"]);
    expect(r.exitCode, String(r.all)).toBe(0);
    expect(r.stderr).toMatch(/base-volume-uploaded/);
    expect(String((await bootc(home, ["ssh", "lvp", "--", "grep ^ID= /etc/os-release"])).stdout).trim()).toBe("ID=debian");
    expect((await bootc(home, ["rm", "--force", "lvp"])).exitCode).toBe(0);
    expect(await virsh(["list", "--all", "--name"])).not.toMatch(/^lvp$/m);
    expect(await virsh(["vol-list", host.pool])).not.toMatch(/bootc-vm-lvp/);
    expect(await digest()).toBe(before);
  });

  it("starts again and is removed with its overlay volume and key", async () => {
    expect((await bootc(home, ["start", "--no-wait", "lvl"])).exitCode).toBe(0);
    expect(await domState("lvl")).toBe("running");
    expect((await bootc(home, ["rm", "lvl"])).stderr).toMatch(/is running/);
    expect((await bootc(home, ["rm", "--force", "lvl"])).exitCode).toBe(0);
    expect(await virsh(["list", "--all", "--name"])).not.toMatch(/^lvl$/m);
    expect(await virsh(["vol-list", host.pool])).not.toMatch(/bootc-vm-lvl/); // overlay and seed
    expect(await virsh(["vol-list", host.pool])).toMatch(/bootc-base-\w+\.raw/); // the host's cache stays
  });
});

describe("a VM on a remote libvirt host (qemu+ssh through an SSH server on loopback), under bootc run --watch --rmi", () => {
  const src = tempDir("bce-lv-watch-src-");
  let watcher: ReturnType<typeof bootc>;
  let out = "";
  const readyCount = () => (out.match(/lvr is ready/g) ?? []).length;

  afterAll(() => {
    watcher?.kill("SIGKILL");
  });

  it("builds the directory and boots it there from BOOTC_CONNECT, with a cloud-init seed on that host", async () => {
    writeFileSync(path.join(src, "motd"), "version 1\n");
    writeFileSync(path.join(src, "Containerfile"), `FROM ${DEMO_CLOUD_IMAGE}\nCOPY motd /etc/motd\n`);
    watcher = bootc(home, ["run", "--watch", src, "-t", WATCH_TAG, "--rmi", "--cloudinit", cloudSeed("seeded-far"), "--name", "lvr"], {
      buffer: false,
      env: { BOOTC_CONNECT: "far" },
    });
    watcher.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    watcher.stderr?.on("data", (d: Buffer) => (out += d.toString()));
    await waitUntil("the first boot", () => readyCount() >= 1 || undefined, 900_000, 1000);
    expect(out).toMatch(/lvr is ready \(ssh on port \d+ on far's loopback\)/);
    expect(await domState("lvr")).toBe("running");
    const r = await bootc(home, ["ssh", "lvr", "--", "cloud-init status --wait >/dev/null; cat /etc/motd /var/tmp/from-cloud-init"]);
    expect(String(r.stdout)).toBe("version 1\nseeded-far");
  });

  it("is reached by ssh and console through the host, and its log is read there", async () => {
    expect((await bootc(home, ["ssh", "lvr", "--", "uname -n"])).stdout).toMatch(/bootc-demo/);
    expect(await consoleShows("lvr", "\r", /login:/)).toMatch(/login:/);
    expect((await bootc(home, ["logs", "lvr"])).stdout).toMatch(/Debian GNU\/Linux/);
    const vm = (await bootcJson<Vm[]>(home, ["list"])).find((v) => v.name === "lvr")!;
    expect(vm).toMatchObject({ hostName: "far", effectiveState: "running" });
  });

  it("reboots into the rebuilt image when a file changes (the domain defined anew, same name and seed)", async () => {
    const first = (await bootcJson<{ imageId: string }>(home, ["inspect", "lvr"])).imageId;
    writeFileSync(path.join(src, "motd"), "version 2\n");
    await waitUntil("the reboot into the new image", () => readyCount() >= 2 || undefined, 900_000, 1000);
    const now = await bootcJson<{ imageId: string; connection: string }>(home, ["inspect", "lvr"]);
    expect(now.imageId).not.toBe(first);
    expect(now.connection).toBe(sshd.uri);
    // The new disk is a new instance for cloud-init: it seeds it again from the same volume.
    expect(String((await bootc(home, ["ssh", "lvr", "--", "cloud-init status --wait >/dev/null; cat /etc/motd /var/tmp/from-cloud-init"])).stdout)).toBe(
      "version 2\nseeded-far",
    );
  });

  it("Ctrl+C stops it, and --rmi removes it there with its image, leaving no tunnel behind", async () => {
    const imageId = (await bootcJson<{ imageId: string }>(home, ["inspect", "lvr"])).imageId;
    watcher.kill("SIGINT");
    await watcher.catch(() => undefined);
    expect(await domState("lvr")).toBe("");
    expect(await virsh(["vol-list", host.pool])).not.toMatch(/bootc-vm-lvr/);
    expect((await execa("podman", ["image", "exists", imageId], { reject: false })).exitCode).toBe(1);
    expect((await execa("pgrep", ["-f", "bootc-libvirt-host"], { reject: false })).stdout).toBe("");
  });
});
