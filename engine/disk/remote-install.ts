/**
 * The install builder for an image of another podman, run there as podman-bootc runs it in
 * its machine: `bootc install to-disk` of the image in a privileged container of that
 * podman, into a sparse file in a podman volume there, then streamed back (the direct
 * builder's stream, remote-direct.ts: the disk as a sparse tar member and the files the
 * guest facts are read from) into the cache's partial directory. A privileged container
 * with loop devices needs a rootful podman: a rootless one is refused before any VM exists.
 * The volume and the containers are removed by name when the build ends, fails or is
 * interrupted (a bootc killed outright leaves them: docs/remote-podman.md, "Not yet").
 */
import { createHash } from "node:crypto";
import { mkdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { BootcError } from "../core/errors.js";
import { describePodman, type PodmanConnection } from "../core/podman-connection.js";
import { podman, podmanCommand } from "../host/podman.js";
import { readGuestFacts } from "../images/rootfs.js";
import { diskFile, type DiskEntry } from "./cache.js";
import { installEntry, installToDiskArgs, type InstallBuildRequest } from "./install.js";
import { containerName, remoteBuildError, streamBuild, takeStreamedDisk } from "./remote-direct.js";

/** Refuses a rootless podman there: `bootc install` needs a privileged container and loop devices, which only a rootful podman has. */
export async function requireRootfulPodman(c: PodmanConnection): Promise<void> {
  const rootless = (await podman(["info", "--format", "{{.Host.Security.Rootless}}"], {}, c)).trim();
  if (rootless === "true")
    throw new BootcError(
      "INVALID_ARGUMENT",
      `the install builder runs bootc install in a privileged container, which the rootless ${describePodman(c).replace(/^the /, "")} cannot start`,
      "use --builder direct, or a rootful podman there (podman machine set --rootful, or root's podman socket)",
    );
}

/** The volume's name: one per cache entry and process, like the local install container's. */
export const installVolumeName = (entryDir: string) =>
  `bootc-console-install-${createHash("sha256").update(entryDir).digest("hex").slice(0, 16)}-${process.pid}`;

export async function buildRemoteInstallDisk(o: InstallBuildRequest & { podman: PodmanConnection }): Promise<DiskEntry> {
  const c = o.podman;
  const where = describePodman(c);
  const volume = installVolumeName(o.entryDir);
  const names = { make: containerName("install-file"), install: containerName("install"), stream: containerName("install-copy") };
  const stream = path.join(o.dir, "stream");
  const run = async (args: string[], what: string) => {
    const cmd = podmanCommand(args, c);
    const r = await execa(cmd.file, cmd.args, { ...cmd.options, reject: false, all: true, cancelSignal: o.signal });
    o.signal?.throwIfAborted();
    if (r.exitCode === 0) return;
    const text = String(r.all ?? "").trim();
    throw remoteBuildError(text, c, where, `${what} in ${where} failed: ${text.split("\n").slice(-3).join(" ")}`, "try --builder direct");
  };
  await mkdir(stream, { mode: 0o700 });
  try {
    await podman(["volume", "create", "--label", "io.bootc-console.build=1", volume], {}, c);
    // A sparse file of the wanted size: bootc installs into it through a loop device.
    await run(
      [
        "run",
        "--rm",
        "--name",
        names.make,
        "--network=none",
        "--pull=never",
        "--user=0:0",
        "-v",
        `${volume}:/output`,
        "--entrypoint",
        "truncate",
        o.imageId,
        "-s",
        String(o.sizeBytes),
        "/output/disk.raw",
      ],
      "making the disk file",
    );
    o.onProgress({ step: `bootc install to-disk in ${where}` });
    await run(installToDiskArgs({ name: names.install, imageId: o.imageId, outDir: volume, filesystem: o.filesystem }), "bootc install to-disk");
    await streamBuild(
      { podman: c, imageId: o.imageId, sizeBytes: o.sizeBytes, onProgress: o.onProgress, signal: o.signal },
      names.stream,
      stream,
      where,
      volume,
    );
    await takeStreamedDisk(stream, diskFile(o.dir));
    const facts = await readGuestFacts(stream, o.image);
    const written = (await stat(diskFile(o.dir))).blocks * 512;
    o.onProgress({ step: "done", bytes: written, totalBytes: written });
    return { ...installEntry(o, facts), podman: c };
  } finally {
    await rm(stream, { recursive: true, force: true });
    for (const n of Object.values(names)) await podman(["rm", "--force", "--ignore", "--time", "0", n], {}, c).catch(() => undefined);
    await podman(["volume", "rm", "--force", volume], {}, c).catch(() => undefined);
  }
}
