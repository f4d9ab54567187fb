import { describe, expect, it } from "vitest";
import { installContainerName, installToDiskArgs } from "./install.js";
import { mkfsArgs, directDiskKernelArgs, checkDiskSize } from "./direct.js";
import { overlayArgs } from "./overlay.js";

describe("bootc install to-disk", () => {
  it("runs the image's own bootc in a privileged container, into a sparse file through a loop device", () => {
    const args = installToDiskArgs({ name: "bootc-install-0123", imageId: "abc123", outDir: "/cache/disks/k.partial-7", filesystem: "ext4" });
    expect(args.slice(0, 7)).toEqual(["run", "--rm", "--name", "bootc-install-0123", "--privileged", "--pid=host", "--security-opt"]);
    expect(args).toContain("label=type:unconfined_t");
    const mounts = args.filter((_, i) => args[i - 1] === "-v");
    expect(mounts).toEqual(["/dev:/dev", "/var/lib/containers:/var/lib/containers", "/cache/disks/k.partial-7:/output"]);
    const cmd = args.slice(args.indexOf("abc123"));
    expect(cmd).toEqual([
      "abc123",
      "bootc",
      "install",
      "to-disk",
      "--via-loopback",
      "--generic-image",
      "--skip-fetch-check",
      "--filesystem",
      "ext4",
      "/output/disk.raw",
    ]);
  });

  it("passes a root size, and another storage path (a podman machine on macOS)", () => {
    const args = installToDiskArgs({
      name: "n",
      imageId: "abc",
      outDir: "/Users/me/.cache/bootc-console/disks/k",
      filesystem: "xfs",
      rootSize: "8G",
      storage: "/var/lib/containers/storage-machine",
    });
    expect(args).toContain("/var/lib/containers/storage-machine:/var/lib/containers");
    expect(args.slice(-5)).toEqual(["--filesystem", "xfs", "--root-size", "8G", "/output/disk.raw"]);
  });

  it("names the container after the cache entry, so a build left by a dead builder can be found and ended", () => {
    const a = installContainerName("/root/.cache/bootc-console/disks/k1");
    expect(a).toMatch(/^bootc-install-[0-9a-f]{16}$/);
    expect(installContainerName("/root/.cache/bootc-console/disks/k1")).toBe(a);
    // Another entry, or the same entry in another user's or test's state directory.
    expect(installContainerName("/root/.cache/bootc-console/disks/k2")).not.toBe(a);
    expect(installContainerName("/home/u/.cache/bootc-console/disks/k1")).not.toBe(a);
  });
});

describe("the direct builder", () => {
  it("populates an ext4 filesystem image from the root filesystem, owned by root", () => {
    expect(mkfsArgs("/m/root", "/c/disk.raw", 10 * 1024 ** 3)).toEqual([
      "-q",
      "-F",
      "-t",
      "ext4",
      "-L",
      "bootc-root",
      "-d",
      "/m/root",
      "-E",
      "root_owner=0:0",
      "/c/disk.raw",
      "10485760k",
    ]);
  });

  it("boots the whole virtio disk as the root", () => {
    expect(directDiskKernelArgs(["quiet"])).toEqual(["root=/dev/vda", "rootfstype=ext4", "rw", "quiet"]);
  });

  it("refuses a disk smaller than the content, naming a size that fits", () => {
    expect(() => checkDiskSize(200 * 1024 ** 2, 700 * 1024 ** 2, "img")).toThrow(/a 0\.20 GiB disk cannot hold img \(it needs at least 0\.68 GiB\)/);
    expect(() => checkDiskSize(1024 ** 3, 700 * 1024 ** 2, "img")).not.toThrow();
  });
});

describe("overlays", () => {
  it("are qcow2 files backed by the base, made without qemu-img opening the base (-u, the size given)", () => {
    expect(overlayArgs("/c/disk.raw", "raw", "/s/vm/disk.qcow2", 2048)).toEqual([
      "create",
      "-q",
      "-f",
      "qcow2",
      "-u",
      "-b",
      "/c/disk.raw",
      "-F",
      "raw",
      "/s/vm/disk.qcow2",
      "2048",
    ]);
    expect(overlayArgs("/u/my.qcow2", "qcow2", "/s/vm/disk.qcow2", 1024)).toEqual([
      "create",
      "-q",
      "-f",
      "qcow2",
      "-u",
      "-b",
      "/u/my.qcow2",
      "-F",
      "qcow2",
      "/s/vm/disk.qcow2",
      "1024",
    ]);
  });
});
