import { describe, expect, it } from "vitest";
import { builderArgs, STREAM_SCRIPT } from "./remote-direct.js";
import { installToDiskArgs } from "./install.js";
import { installVolumeName } from "./remote-install.js";

const id = "ab".repeat(32);

describe("the install builder in another podman", () => {
  it("installs into a volume there from a privileged container, as the local install builder does", () => {
    const volume = installVolumeName("/cache/disks/k");
    expect(volume).toMatch(new RegExp(`^bootc-console-install-[0-9a-f]{16}-${process.pid}$`));
    const args = installToDiskArgs({ name: "n", imageId: id, outDir: volume, filesystem: "ext4" });
    expect(args[args.indexOf(`${volume}:/output`) - 1]).toBe("-v");
    expect(args).toContain("--privileged");
    expect(args.slice(-3)).toEqual(["--filesystem", "ext4", "/output/disk.raw"]);
  });

  it("streams the disk back read-only from the volume with the image's fact files, building nothing", () => {
    const args = builderArgs({ name: "c", imageId: id, script: STREAM_SCRIPT, volume: "vol" });
    expect(args[args.indexOf("vol:/out:ro") - 1]).toBe("-v");
    expect(STREAM_SCRIPT).not.toContain("mkfs");
    expect(STREAM_SCRIPT).toMatch(/^set -e\ncd \/target\nexec tar --sparse --ignore-failed-read -cf - \/out\/disk.raw usr\/lib\/modules/);
    expect(builderArgs({ name: "c", imageId: id, script: STREAM_SCRIPT })).not.toContain("-v");
  });
});
