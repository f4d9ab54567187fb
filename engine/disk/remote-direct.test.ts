import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BUILD_SCRIPT, builderArgs, parseProbe, PROBE_SCRIPT, takeStreamedDisk } from "./remote-direct.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "bce-stream-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

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

describe("taking the disk the image streamed back", () => {
  const streamWith = (name: string, make: (out: string) => void) => {
    const stream = path.join(tmp, name);
    mkdirSync(path.join(stream, "out"), { recursive: true });
    make(path.join(stream, "out"));
    return stream;
  };

  it("moves a plain disk file into place", async () => {
    const stream = streamWith("plain", (out) => writeFileSync(path.join(out, "disk.raw"), "disk"));
    await takeStreamedDisk(stream, path.join(tmp, "plain.raw"));
    expect(readFileSync(path.join(tmp, "plain.raw"), "utf8")).toBe("disk");
  });

  it("refuses a symlink in its place (to a host file the VM would then read), in one sentence, moving nothing", async () => {
    const secret = path.join(tmp, "secret");
    writeFileSync(secret, "host secret");
    const stream = streamWith("linked", (out) => symlinkSync(secret, path.join(out, "disk.raw")));
    await expect(takeStreamedDisk(stream, path.join(tmp, "linked.raw"))).rejects.toThrow(/^the disk streamed back is not a plain file/);
    expect(existsSync(path.join(tmp, "linked.raw"))).toBe(false);
  });

  it("refuses an out directory that is a symlink", async () => {
    const elsewhere = path.join(tmp, "elsewhere");
    mkdirSync(elsewhere);
    writeFileSync(path.join(elsewhere, "disk.raw"), "x");
    const stream = path.join(tmp, "outlink");
    mkdirSync(stream);
    symlinkSync(elsewhere, path.join(stream, "out"));
    await expect(takeStreamedDisk(stream, path.join(tmp, "outlink.raw"))).rejects.toThrow(/not a plain file/);
  });
});
