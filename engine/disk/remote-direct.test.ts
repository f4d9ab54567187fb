import { describe, expect, it } from "vitest";
import { BUILD_SCRIPT, builderArgs, parseProbe, PROBE_SCRIPT } from "./remote-direct.js";

const id = "ab".repeat(32);

describe("the direct builder in another podman", () => {
  it("runs the image itself with the image mounted read-only at /target, no network, as root, never pulling", () => {
    const args = builderArgs({ name: "bootc-console-disk-1", imageId: `sha256:${id}`, script: BUILD_SCRIPT, args: ["10485760"] });
    expect(args.slice(0, 4)).toEqual(["run", "--rm", "--name", "bootc-console-disk-1"]);
    expect(args).toContain("--network=none");
    expect(args).toContain("--pull=never");
    expect(args).toContain("--user=0:0");
    expect(args[args.indexOf("--mount") + 1]).toBe(`type=image,source=${id},target=/target`);
    // The script and its size argument are arguments of sh, never pasted together.
    expect(args.slice(-6)).toEqual(["/bin/sh", id, "-c", BUILD_SCRIPT, "sh", "10485760"]);
  });

  it("refuses what is not an image id", () => {
    expect(() => builderArgs({ name: "n", imageId: "--privileged", script: PROBE_SCRIPT })).toThrow('"--privileged" is not an image id');
  });

  it("writes the disk with the direct builder's mkfs options and streams it sparse, the size from $1", () => {
    expect(BUILD_SCRIPT).toContain('mkfs.ext4 -q -F -t ext4 -L bootc-root -d /target -E root_owner=0:0 /out/disk.raw "$1"k');
    expect(BUILD_SCRIPT).toMatch(/exec tar --sparse --ignore-failed-read -cf - \/out\/disk.raw usr\/lib\/modules\/\*\/vmlinuz/);
  });

  it("reads the probe's answer", () => {
    expect(parseProbe("used=363720704\nkernel=/target/usr/lib/modules/6.1/vmlinuz\ntools=yes\n")).toEqual({ used: 363720704, kernel: true, tools: true });
    expect(parseProbe("used=10\nkernel=\ntools=\n")).toEqual({ used: 10, kernel: false, tools: false });
  });
});
