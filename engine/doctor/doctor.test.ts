import { describe, expect, it } from "vitest";
import { tempDir } from "../../test/tmp.js";
import { doctorChecks } from "./doctor.js";

/** A host with nothing on PATH, its state in a scratch directory. */
const bareHost = () => ({ PATH: tempDir("doctor-path-"), BOOTC_HOME: tempDir("doctor-home-") }) as unknown as NodeJS.ProcessEnv;

async function rowsFor(platform: NodeJS.Platform, rootless: boolean) {
  const env = bareHost();
  return Promise.all(doctorChecks(platform, rootless).map((check) => check(env, platform)));
}

describe("bootc doctor's rows per platform", () => {
  it("on macOS checks Homebrew's tools and vfkit, not the Linux-only virtiofsd, passt or rootless set-up", async () => {
    const rows = await rowsFor("darwin", true);
    expect(rows.map((r) => r.id)).toEqual(["podman", "qemu", "qemu-img", "firmware", "accel", "vfkit", "ssh", "ssh-keygen", "xorriso", "disk"]);
    const fix = Object.fromEntries(rows.map((r) => [r.id, r.fix]));
    expect(fix).toMatchObject({
      podman: "brew install podman, then podman machine init && podman machine start",
      qemu: "brew install qemu",
      "qemu-img": "brew install qemu (qemu-img is part of it)",
      vfkit: "brew install vfkit",
      xorriso: "brew install xorriso",
    });
    expect(rows.find((r) => r.id === "firmware")).toMatchObject({ status: "warn", fix: "brew install qemu (edk2 firmware is in its share/qemu)" });
    expect(rows.find((r) => r.id === "vfkit")).toMatchObject({ status: "warn", required: false });
    expect(rows.filter((r) => r.fix?.includes("apt-get"))).toEqual([]);
  });

  it("on Linux keeps virtiofsd and passt, adds the rootless row after podman for a regular user, and gives apt/dnf lines", async () => {
    const ids = (await rowsFor("linux", true)).map((r) => r.id);
    expect(ids.slice(0, 2)).toEqual(["podman", "rootless"]);
    expect(ids).toEqual(expect.arrayContaining(["virtiofsd", "passt"]));
    expect(ids).not.toContain("vfkit");
    expect((await rowsFor("linux", false)).map((r) => r.id)).not.toContain("rootless");
    const podman = (await rowsFor("linux", false)).find((r) => r.id === "podman");
    expect(podman?.fix).toContain("apt-get install podman");
  });
});
