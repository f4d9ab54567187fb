/**
 * Soft reboot into each new build, with a real guest: `bootc run --watch DIR` boots an
 * image FROM the demo; a change to a file keeps the kernel (same boot id) and swaps the
 * root (the new file is there, the share still mounted, consoles see the switch line, the
 * old root's mount and virtiofsd are gone); a change to the initramfs falls back to a full
 * reboot and says why; and nothing is left when the watch stops.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { bootc, bootcJson, DEMO_IMAGE, makeHome, processesUsing, tempDir, waitUntil, watchImageMounts } from "./lib/harness.js";

const home = makeHome();
const mounts = await watchImageMounts("soft-reboot.e2e.ts");
const dir = tempDir("bce-soft-src-");
const share = tempDir("bce-soft-share-");
// Its own tag: other test files use theirs, and a full run may be going on beside this one.
const TAG = "localhost/bootc-soft-e2e:latest";
const containerfile = (extra = "") => `FROM ${DEMO_IMAGE}\nCOPY motd /etc/motd\n${extra}`;

const guest = async (cmd: string) => {
  const r = await bootc(home, ["ssh", "soft", "--", "sh", "-c", cmd]);
  expect(r.exitCode, String(r.all)).toBe(0);
  return String(r.stdout).trim();
};
/** The virtiofsd processes serving the socket named `sock` (the first root's is fs0.sock, the next root's root1.sock). */
const daemonsOn = (sock: string) => processesUsing(home).filter((p) => p.cmd.includes("virtiofsd") && p.cmd.includes(`/${sock}`)).length;

describe("soft reboot into a new build", () => {
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

  it("keeps the kernel and swaps the root when a file changes", async () => {
    viewer = bootc(home, ["console", "soft"], { buffer: false, stdin: "pipe" });
    viewer.stdout?.on("data", (d: Buffer) => (seen += d.toString()));
    await waitUntil("the console to attach", () => seen.length > 0 || undefined, 60_000, 200);
    const first = (await bootcJson<{ imageId: string }>(home, ["inspect", "soft"])).imageId;
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

  it("falls back to a full reboot, and says why, when the initramfs changes", async () => {
    // NUL padding after the cpio archive: the kernel skips it, so the image still boots.
    const pad = 'RUN for f in /usr/lib/modules/*/initramfs.img; do head -c 512 /dev/zero >> "$f"; done\n';
    writeFileSync(path.join(dir, "motd"), "version 3\n");
    writeFileSync(path.join(dir, "Containerfile"), containerfile(pad));
    await waitUntil("the full reboot", () => readyCount() >= 3 || undefined, 900_000, 1000);
    expect(out).toContain("warning: soft reboot not possible (the new image has another initramfs): rebooting fully");
    expect(out).toMatch(/new image [0-9a-f]{12}: rebooting the VM into it/);
    expect(await guest("cat /etc/motd")).toBe("version 3");
    expect(await guest("cat /proc/sys/kernel/random/boot_id")).not.toBe(bootId);
  });

  it("leaves nothing mounted or running when the watch stops", async () => {
    viewer?.kill("SIGTERM");
    watcher.kill("SIGINT");
    expect((await watcher).exitCode).toBe(0);
    expect(await mounts.left()).toEqual([]);
    await waitUntil("the VM's processes to end", () => processesUsing(home).length === 0 || undefined, 30_000);
  });
});
