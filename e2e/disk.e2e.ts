/**
 * Disk mode's base disks: cached per image (reused, rebuilt when the image changes, pruned,
 * removed with --rmi), and the faults a user can meet leave no half-written cache entry or
 * stray process. The VMs are checked at the disk step and stopped or removed; a disk VM's
 * whole boot, and its disk surviving stop and start, are e2e/snapshot.e2e.ts's (one guest
 * for both files).
 */
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { bootc, bootcJson, DEMO_IMAGE, makeHome, makePremadeDisk, processesUsing, tempDir, waitUntil, watchImageMounts } from "./lib/harness.js";

const home = makeHome();
const mounts = await watchImageMounts("disk.e2e.ts");
process.env.BOOTC_HOME = home; // for the engine API used in-process below
const { Engine } = await import("../dist/engine/index.js");
const engine = new Engine();
const GiB = 1024 ** 3;
const disksDir = path.join(home, "cache/disks");
const cacheFiles = () => (existsSync(disksDir) ? readdirSync(disksDir) : []);
const vmDirs = () => (existsSync(path.join(home, "state/vms")) ? readdirSync(path.join(home, "state/vms")) : []);
/** Finished base-disk entries in the cache. */
const entries = () =>
  cacheFiles()
    .filter((f) => /^[0-9a-f]{24}$/.test(f))
    .sort();
/** The middle of a build: mkfs.ext4 is writing a partial entry's disk file. */
const writing = () =>
  cacheFiles()
    .filter((f) => f.includes(".partial-"))
    .some((f) => existsSync(path.join(disksDir, f, "disk.raw")));
const events = async (name: string) => (await engine.getVm(name)).timeline.map((t: { event: string }) => t.event);
type Disk = { key: string; imageId: string; usedBy: string[]; imageCurrent: boolean };

/** Creates a disk VM through the engine and waits until its base disk is built or reused. */
async function diskStep(
  name: string,
  image: string,
  diskSizeBytes = 2 * GiB,
  extra: { removeOnStop?: boolean; removeImageOnStop?: boolean } = {},
): Promise<"disk-built" | "disk-reused"> {
  await engine.createVm({ image, name, mode: "disk", builder: "direct", diskSizeBytes, memoryMiB: 1024, ...extra });
  return waitUntil(
    `${name}'s base disk`,
    async () => {
      const vm = await engine.getVm(name);
      if (vm.effectiveState === "failed") throw new Error(`${name} failed: ${vm.reason}`);
      return vm.timeline.map((t: { event: string }) => t.event).find((e: string) => e === "disk-built" || e === "disk-reused");
    },
    300_000,
  );
}

const FAKE_INSTALL_IMAGE = "localhost/bootc-fake-install:latest";

/** Images the tests built and a later build untagged: removed at the end, not left dangling. */
const untaggedBuilds: string[] = [];

afterAll(async () => {
  for (const name of await engine.names()) await engine.removeVm(name, { force: true }).catch(() => undefined);
  for (const image of ["localhost/bootc-disk-e2e:latest", FAKE_INSTALL_IMAGE, ...untaggedBuilds])
    await execa("podman", ["rmi", "-f", image], { reject: false });
});

/** The demo image's base disk, built by the first test and used by dk1 (stopped) throughout. */
let base = "";

describe("disk mode", () => {
  it("builds the image's base disk for the first VM", async () => {
    expect(await diskStep("dk1", DEMO_IMAGE)).toBe("disk-built");
    base = (await engine.getVm("dk1")).disk!.base!;
    // Its disk is all these tests need (a disk VM's boot, and stop and start keeping what the
    // guest wrote, are snapshot.e2e's): stopped at once, it stays a VM that uses the base.
    expect((await engine.stopVm("dk1", { force: true })).effectiveState).toBe("stopped");
  });

  it("a second VM of the same image reuses the base disk instead of building one", async () => {
    expect(await diskStep("dk2", DEMO_IMAGE)).toBe("disk-reused");
    const disks = await bootcJson<Disk[]>(home, ["disks"]);
    expect(disks.map((d) => d.key)).toEqual([base]);
    expect(disks[0]!.usedBy.sort()).toEqual(["dk1", "dk2"]);
    await engine.removeVm("dk2", { force: true });
  });

  it("refuses to remove a base disk a VM uses", async () => {
    const r = await bootc(home, ["disks", "rm", base]);
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toMatch(/is used by dk1/);
    expect(cacheFiles()).toContain(base);
  });

  it("a changed image gets a new base disk; prune removes the outdated one; rm --rmi and run --rmi remove image and base", async () => {
    const src = tempDir("bce-disk-src-");
    const tag = "localhost/bootc-disk-e2e:latest";
    writeFileSync(path.join(src, "Containerfile"), `FROM ${DEMO_IMAGE}\nCOPY motd /etc/motd\n`);
    writeFileSync(path.join(src, "motd"), "one\n");
    expect((await bootc(home, ["build", src, "-t", tag])).exitCode).toBe(0);
    expect(await diskStep("dk3", tag)).toBe("disk-built");
    const dk3 = await engine.getVm("dk3");
    const first = dk3.disk!.base;
    untaggedBuilds.push(dk3.imageId);
    await engine.removeVm("dk3", { force: true });

    writeFileSync(path.join(src, "motd"), "two\n");
    expect((await bootc(home, ["build", src, "-t", tag])).exitCode).toBe(0);
    expect(await diskStep("dk4", tag)).toBe("disk-built");
    const second = (await engine.getVm("dk4")).disk!.base;
    expect(second).not.toBe(first);

    const dry = await bootcJson<{ removed: Disk[] }>(home, ["disks", "prune", "--dry-run"]);
    expect(dry.removed.map((d) => d.key)).toEqual([first]);
    expect(cacheFiles()).toContain(first);
    expect((await bootc(home, ["disks", "prune"])).exitCode).toBe(0);
    expect(cacheFiles()).not.toContain(first);
    expect(cacheFiles()).toContain(second);

    // --rmi never forces: an image another tag still names is kept (rmi -f removed both tags, and any container).
    const otherTag = "localhost/bootc-disk-e2e-other:latest";
    await execa("podman", ["tag", tag, otherTag]);
    const rm = await bootc(home, ["rm", "--force", "--rmi", "dk4"]);
    expect(rm.exitCode, String(rm.all)).toBe(0);
    expect(String(rm.stdout)).toMatch(/kept the image [0-9a-f]{12}: .*(multiple|tags|force)/);
    expect(cacheFiles()).not.toContain(second);
    expect((await execa("podman", ["image", "exists", otherTag], { reject: false })).exitCode).toBe(0);
    await execa("podman", ["rmi", otherTag]);
    await execa("podman", ["rmi", tag]);
    expect((await execa("podman", ["image", "exists", tag], { reject: false })).exitCode).toBe(1);
    expect(cacheFiles()).toContain(base); // the demo image's base, still used by dk1

    // run --rmi: the same clean-up happens by itself when the VM stops.
    writeFileSync(path.join(src, "motd"), "three\n");
    expect((await bootc(home, ["build", src, "-t", tag])).exitCode).toBe(0);
    expect(await diskStep("dk9", tag, 2 * GiB, { removeOnStop: true, removeImageOnStop: true })).toBe("disk-built");
    const third = (await engine.getVm("dk9")).disk!.base;
    expect(cacheFiles()).toContain(third);
    expect((await bootc(home, ["stop", "--force", "dk9"])).exitCode).toBe(0);
    await waitUntil("the VM to remove itself", () => !vmDirs().includes("dk9") || undefined, 60_000);
    expect(cacheFiles()).not.toContain(third);
    expect((await execa("podman", ["image", "exists", tag], { reject: false })).exitCode).toBe(1);
    expect(cacheFiles()).toContain(base);
  });

  it("two VMs booting one image at once build its base disk once", async () => {
    // A disk size of its own gives a fresh cache key for the demo image.
    const steps = await Promise.all([diskStep("dk5", DEMO_IMAGE, 3 * GiB), diskStep("dk6", DEMO_IMAGE, 3 * GiB)]);
    expect(steps.sort()).toEqual(["disk-built", "disk-reused"]);
    const keys = new Set([(await engine.getVm("dk5")).disk!.base, (await engine.getVm("dk6")).disk!.base]);
    expect(keys.size).toBe(1);
    await engine.removeVm("dk5", { force: true });
    await engine.removeVm("dk6", { force: true });
  });
});

/**
 * The host files qemu opens for `args` (paused, no machine: nothing runs): its protocol
 * nodes. (Other nodes also report what an image's header names, opened or not.)
 */
async function openedFiles(args: string[]): Promise<string[]> {
  const qmp = ['{"execute":"qmp_capabilities"}', '{"execute":"query-named-block-nodes"}', '{"execute":"quit"}'].join("\n") + "\n";
  const r = await execa("qemu-system-x86_64", ["-machine", "none", "-nodefaults", "-display", "none", "-S", "-qmp", "stdio", ...args], {
    input: qmp,
    reject: false,
    timeout: 60_000,
  });
  const reply = String(r.stdout)
    .split("\n")
    .map((l) => (l ? (JSON.parse(l) as { return?: unknown }) : {}))
    .find((m) => Array.isArray(m.return));
  if (!reply) throw new Error(`qemu answered no block nodes: ${r.stderr}`);
  return (reply.return as Array<{ drv: string; file: string }>)
    .filter((n) => n.drv === "file")
    .map((n) => n.file)
    .sort();
}

describe("premade disks", () => {
  let file = "";
  const overlay = path.join(home, "state/vms/pm/disk.qcow2");
  let diskArgs: string[] = [];

  it("boots a premade qcow2 disk through UEFI under an overlay, never writing the user's file; refuses --karg", async () => {
    const raw = await makePremadeDisk(path.join(disksDir, base));
    // qcow2: the format whose header can name other files (the next test).
    file = raw.replace(/\.raw$/, ".qcow2");
    await execa("qemu-img", ["convert", "-O", "qcow2", raw, file]);
    const digest = async () => String((await execa("sha256sum", [file])).stdout).split(" ")[0];
    const before = await digest();

    await engine.createVm({ disk: file, name: "pm", memoryMiB: 1024 });
    // UEFI firmware → systemd-boot → the disk's kernel and initramfs → userspace.
    await waitUntil(
      "the premade disk's kernel to reach userspace",
      async () => (await events("pm")).includes("kernel-to-userspace") || undefined,
      600_000,
      1000,
    );
    const vm = await engine.getVm("pm");
    expect(vm.disk?.builder).toBe("premade");
    expect(vm.qemuArgs?.join(" ")).toMatch(/if=pflash,format=raw,unit=0,readonly=on/);
    expect(vm.qemuArgs).not.toContain("-kernel");
    // The user's file is a node of its own that follows no backing file; the overlay's backing is that node.
    diskArgs = (vm.qemuArgs ?? []).flatMap((a: string, i: number, all: string[]) => (all[i - 1] === "-blockdev" ? ["-blockdev", a] : []));
    expect(diskArgs.filter((a) => a !== "-blockdev").map((j) => JSON.parse(j) as unknown)).toEqual([
      expect.objectContaining({ "node-name": "disk0-base", driver: "qcow2", backing: null, file: expect.objectContaining({ filename: file }) }),
      expect.objectContaining({ "node-name": "disk0", driver: "qcow2", backing: "disk0-base", file: expect.objectContaining({ filename: overlay }) }),
    ]);
    const info = JSON.parse(String((await execa("qemu-img", ["info", "-U", "--output=json", overlay])).stdout));
    expect(info["backing-filename"]).toBe(file);
    await engine.stopVm("pm", { force: true });
    expect(await digest()).toBe(before);

    // Kernel arguments cannot reach a kernel that the disk's own boot loader starts: refused.
    const r = await bootc(home, ["run", "--disk", file, "--karg", "quiet", "--name", "pmk"]);
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toMatch(/kernel arguments \(quiet\) cannot be passed to a premade disk/);
    expect(vmDirs()).not.toContain("pmk");
  });

  it("a premade disk rewritten to name a host file as its backing is refused at the next start, and qemu would not follow it anyway", async () => {
    const secret = path.join(tempDir("bce-secret-"), "shadow");
    writeFileSync(secret, "root:$6$host-secret:19000:0:99999:7:::\n");
    // What anyone who can write the user's file can do between two boots.
    await execa("qemu-img", ["rebase", "-u", "-b", secret, "-F", "raw", file]);

    const r = await bootc(home, ["start", "pm"]);
    expect(r.exitCode, String(r.all)).toBe(1);
    expect(String(r.stderr)).toMatch(/names a backing file \(.*shadow\), which qemu would open as part of the guest's disk: refused/);

    // Had the check been passed, the nodes the VM boots with still open only its two files…
    expect(await openedFiles(diskArgs)).toEqual([file, overlay].sort());
    // …where opening the overlay by what its headers say would have read the host's file.
    expect(await openedFiles(["-drive", `file=${overlay},format=qcow2,if=none`])).toEqual([file, overlay, secret].sort());
    await engine.removeVm("pm", { force: true });
  });
});

describe("disk mode: bad input and faults", () => {
  async function expectRefused(args: string[], message: RegExp) {
    const r = await bootc(home, ["run", ...args]);
    expect(r.exitCode, String(r.all)).toBe(1);
    expect(String(r.stderr)).toMatch(message);
    expect(String(r.stderr)).toMatch(/^hint: /m);
    expect(vmDirs()).not.toContain("bad");
  }

  it("a --disk file that does not exist", () =>
    expectRefused(["--name", "bad", "--disk", "/nonexistent/disk.qcow2"], /disk file \/nonexistent\/disk.qcow2 does not exist/));

  it("a --disk file that is not a disk image", async () => {
    const file = path.join(tempDir("bce-notdisk-"), "notes.txt");
    writeFileSync(file, "just some text\n".repeat(100));
    await expectRefused(["--name", "bad", "--disk", file], /is not a disk image/);
  });

  it("a --disk-size smaller than the image", () =>
    expectRefused(["--name", "bad", "--mode", "disk", "--builder", "direct", "--disk-size", "200M", DEMO_IMAGE], /cannot hold .* \(it needs at least/));

  it("kill -9 in the middle of a build: the next run rebuilds cleanly", async () => {
    const before = entries();
    await engine.createVm({ image: DEMO_IMAGE, name: "dk7", mode: "disk", builder: "direct", diskSizeBytes: 4 * GiB, memoryMiB: 1024 });
    await waitUntil("the build to start writing", () => writing() || undefined, 120_000, 100);
    process.kill((await engine.getVm("dk7")).monitorPid!, "SIGKILL");
    await waitUntil("the builder to die", () => processesUsing(home).every((p) => !p.cmd.includes("mkfs")) || undefined, 30_000);
    // Nothing that looks like a finished entry was left.
    expect(entries()).toEqual(before);
    await engine.removeVm("dk7", { force: true });
    expect(await diskStep("dk8", DEMO_IMAGE, 4 * GiB)).toBe("disk-built");
    expect(cacheFiles().some((f) => f.includes(".partial-"))).toBe(false);
    await engine.removeVm("dk8", { force: true });
  });

  it("a force stop in the middle of a build ends the build: no entry is cached, the VM is stopped", async () => {
    const before = entries();
    await engine.createVm({ image: DEMO_IMAGE, name: "dk10", mode: "disk", builder: "direct", diskSizeBytes: 5 * GiB, memoryMiB: 1024 });
    await waitUntil("the build to start writing", () => writing() || undefined, 120_000, 100);
    const stopped = await engine.stopVm("dk10", { force: true });
    expect(stopped.effectiveState).toBe("stopped");
    expect(stopped.reason).toBe("force-stopped by the user");
    // Waiting for mkfs to finish would have cached the entry; the stop ended the build instead.
    expect(entries()).toEqual(before);
    expect(cacheFiles().some((f) => f.includes(".partial-"))).toBe(false);
    expect(processesUsing(home).some((p) => p.cmd.includes("mkfs"))).toBe(false);
    await engine.removeVm("dk10", { force: true });
  });

  it("a force stop during `bootc install` ends its container: nothing is left running or cached", async () => {
    // An image whose bootc "installs" forever: the stop must not wait for it.
    const ctx = tempDir("bce-fake-install-");
    writeFileSync(path.join(ctx, "bootc"), "#!/bin/sh\necho 'fake bootc: installing'\nexec sleep 900\n", { mode: 0o755 });
    writeFileSync(path.join(ctx, "Containerfile"), `FROM ${DEMO_IMAGE}\nCOPY bootc /usr/bin/bootc\n`);
    const built = await execa("podman", ["build", "-q", "-t", FAKE_INSTALL_IMAGE, ctx], { reject: false, all: true });
    expect(built.exitCode, String(built.all)).toBe(0);
    const installers = async () =>
      (await execa("podman", ["ps", "--filter", `ancestor=${FAKE_INSTALL_IMAGE}`, "--format", "{{.Names}}"])).stdout.split("\n").filter(Boolean);
    const before = entries();
    await engine.createVm({ image: FAKE_INSTALL_IMAGE, name: "dk11", mode: "disk", builder: "install", diskSizeBytes: 4 * GiB, memoryMiB: 1024 });
    await waitUntil("the install container to run", async () => ((await installers()).length ? true : undefined), 120_000, 250);
    const stopped = await engine.stopVm("dk11", { force: true });
    expect(stopped.effectiveState).toBe("stopped");
    expect(stopped.reason).toBe("force-stopped by the user");
    expect(await installers()).toEqual([]);
    expect(entries()).toEqual(before);
    expect(cacheFiles().some((f) => f.includes(".partial-"))).toBe(false);
    await engine.removeVm("dk11", { force: true });
  });

  it("a full cache filesystem: a clear error and no partial entry", async () => {
    const small = makeHome();
    const mounted = await execa("mkdir", ["-p", path.join(small, "cache")]).then(() =>
      execa("mount", ["-t", "tmpfs", "-o", "size=128m,mode=0700", "tmpfs", path.join(small, "cache")], { reject: false }),
    );
    expect(mounted.exitCode, String(mounted.stderr)).toBe(0);
    try {
      const r = await bootc(small, ["run", "--mode", "disk", "--builder", "direct", "--disk-size", "2G", "--name", "full", DEMO_IMAGE]);
      expect(r.exitCode).toBe(1);
      expect(String(r.stderr)).toMatch(/ran out of space/);
      expect(readdirSync(path.join(small, "cache/disks"))).toEqual([]);
      expect((await bootc(small, ["rm", "full"])).exitCode).toBe(0);
      expect(processesUsing(small)).toEqual([]);
    } finally {
      await execa("umount", [path.join(small, "cache")], { reject: false });
    }
  });

  it("leaves no process or image mount behind", async () => {
    await engine.removeVm("dk1", { force: true }).catch(() => undefined);
    await waitUntil("every process to end", () => processesUsing(home).length === 0 || undefined, 30_000);
    expect(await mounts.left()).toEqual([]);
  });
});
