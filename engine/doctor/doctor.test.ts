import { describe, expect, it } from "vitest";
import { tempDir } from "../../test/tmp.js";
import { chmodSync, writeFileSync } from "node:fs";
import path from "node:path";
import { doctorChecks, foreignArchRows } from "./doctor.js";

/** A host with nothing on PATH, its state in a scratch directory. */
const bareHost = () => ({ PATH: tempDir("doctor-path-"), BOOTC_HOME: tempDir("doctor-home-") }) as unknown as NodeJS.ProcessEnv;

async function rowsFor(platform: NodeJS.Platform, rootless: boolean) {
  const env = bareHost();
  return Promise.all(doctorChecks(platform, rootless).map((check) => check(env, platform)));
}

describe("bootc doctor's rows per platform", () => {
  it("on macOS checks Homebrew's tools and vfkit, not the Linux-only virtiofsd, passt or rootless set-up", async () => {
    const rows = await rowsFor("darwin", true);
    expect(rows.map((r) => r.id)).toEqual(["podman", "qemu", "qemu-img", "firmware", "accel", "vfkit", "ssh", "ssh-keygen", "xorriso", "mcopy", "disk"]);
    const fix = Object.fromEntries(rows.map((r) => [r.id, r.fix]));
    expect(fix).toMatchObject({
      podman: "brew install podman, then podman machine init && podman machine start",
      qemu: "brew install qemu",
      "qemu-img": "brew install qemu (qemu-img is part of it)",
      vfkit: "brew install vfkit",
      xorriso: "brew install xorriso",
      mcopy: "brew install mtools",
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

describe("bootc doctor's rows for other architectures", () => {
  it("has a row for another architecture's emulator it finds, and none for one it does not", async () => {
    const env = bareHost();
    expect(await foreignArchRows(env, "linux", "x86_64").then((rows) => rows.filter((r) => r.id.startsWith("qemu-")))).toEqual([]);
    const bin = path.join(env.PATH!, "qemu-system-aarch64");
    writeFileSync(bin, "#!/bin/sh\necho 'QEMU emulator version 7.2.19'\n");
    chmodSync(bin, 0o755);
    const rows = await foreignArchRows(env, "linux", "x86_64");
    expect(rows.find((r) => r.id === "qemu-aarch64")).toEqual({
      id: "qemu-aarch64",
      name: "qemu (arm64 guests)",
      required: false,
      status: "ok",
      detail: `${bin} 7.2.19, emulated under TCG`,
    });
    expect(rows.map((r) => r.id)).not.toContain("qemu-x86_64");
    // The other direction: an arm64 host's row for amd64 guests.
    expect((await foreignArchRows(env, "linux", "aarch64")).map((r) => r.id)).not.toContain("qemu-aarch64");
  });
});
