/**
 * The `bootc install to-disk` builder, for images that carry bootc: the image installs
 * itself (partitions, bootloader, its own layout) into a sparse file through a loop
 * device, from a privileged container, the way the reference tools do it. The result is
 * what production installs look like and boots with UEFI firmware. It needs rootful
 * podman and loop devices; the direct builder needs neither.
 */
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";
import { execa } from "execa";
import { BootcError } from "../core/errors.js";
import { podmanPath } from "../host/podman.js";
import { spawnOwned } from "../host/spawn.js";
import { BUILDER_VERSION, diskFile, type DiskEntry } from "./cache.js";
import type { DiskProgress } from "./progress.js";

export interface InstallSpec {
  /** The container's name: the builder finds and ends it by this name. */
  name: string;
  imageId: string;
  /** The directory that receives disk.raw (mounted at /output). */
  outDir: string;
  filesystem: string;
  /** Size of the root partition, e.g. "8G"; default: the whole disk. */
  rootSize?: string;
  storage?: string;
}

/** The podman argument list that runs `bootc install to-disk` from the image itself. */
export function installToDiskArgs(s: InstallSpec): string[] {
  const storage = s.storage ?? "/var/lib/containers";
  return [
    "run",
    "--rm",
    "--name",
    s.name,
    "--privileged",
    "--pid=host",
    "--security-opt",
    "label=type:unconfined_t",
    "-v",
    "/dev:/dev",
    "-v",
    `${storage}:/var/lib/containers`,
    "-v",
    `${s.outDir}:/output`,
    s.imageId,
    "bootc",
    "install",
    "to-disk",
    "--via-loopback",
    "--generic-image",
    "--skip-fetch-check",
    "--filesystem",
    s.filesystem,
    ...(s.rootSize ? ["--root-size", s.rootSize] : []),
    "/output/disk.raw",
  ];
}

/**
 * One name per cache entry (and per state directory, through the entry's path): only the
 * holder of the entry's build lock runs this container, so a container that already has
 * the name was left by a builder that died, and is ended before a new build starts.
 */
export function installContainerName(entryDir: string): string {
  return `bootc-install-${createHash("sha256").update(entryDir).digest("hex").slice(0, 16)}`;
}

/** Ends the install container: killing the podman client alone would leave it running under conmon. */
async function removeContainer(name: string): Promise<void> {
  await execa(podmanPath(), ["rm", "--force", "--ignore", "--time", "0", name], { reject: false });
}

/** What the install builder makes, here or in another podman (remote-install.ts): a cache entry in `dir`. */
export interface InstallBuildRequest {
  /** The entry's final directory: names the container. */
  entryDir: string;
  dir: string;
  key: string;
  image: string;
  imageId: string;
  sizeBytes: number;
  filesystem: string;
  onProgress: (p: DiskProgress) => void;
  /** Aborting ends the install container and fails the build. */
  signal?: AbortSignal;
}

export async function buildInstallDisk(o: InstallBuildRequest & { facts: { systemd?: number; sshd: boolean; users: string[] } }): Promise<DiskEntry> {
  const name = installContainerName(o.entryDir);
  await removeContainer(name);
  o.signal?.throwIfAborted();
  // A sparse file of the wanted size: bootc installs into it through a loop device.
  const fh = await open(diskFile(o.dir), "w");
  await fh.truncate(o.sizeBytes);
  await fh.close();
  o.onProgress({ step: "bootc install to-disk" });
  const child = spawnOwned(podmanPath(), installToDiskArgs({ name, imageId: o.imageId, outDir: o.dir, filesystem: o.filesystem }), {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const abort = () => void removeContainer(name);
  o.signal?.addEventListener("abort", abort, { once: true });
  let tail = "";
  const onData = (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4000);
    const line = d.toString().trim().split("\n").pop();
    if (line) o.onProgress({ step: `bootc install: ${line.slice(0, 120)}` });
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const r = await child.finally(() => o.signal?.removeEventListener("abort", abort));
  o.signal?.throwIfAborted();
  if (r.exitCode !== 0) {
    if (/No space left on device/i.test(tail))
      throw new BootcError("NO_SPACE", "the disk cache ran out of space during bootc install", "free space, or prune unused disks: bootc disks prune");
    throw new BootcError(
      "DISK_BUILD_FAILED",
      `bootc install to-disk failed: ${tail.trim().split("\n").slice(-5).join("\n")}`,
      "try the built-in builder: --builder direct",
    );
  }
  return installEntry(o, o.facts);
}

/** The cache entry of a disk `bootc install` made — here, or in another podman (remote-install.ts). */
export function installEntry(
  o: Pick<InstallBuildRequest, "key" | "image" | "imageId" | "sizeBytes" | "filesystem">,
  facts: { systemd?: number; sshd: boolean; users: string[] },
): DiskEntry {
  return {
    key: o.key,
    image: o.image,
    imageId: o.imageId,
    builder: "install",
    builderVersion: BUILDER_VERSION.install,
    sizeBytes: o.sizeBytes,
    filesystem: o.filesystem,
    createdAt: new Date().toISOString(),
    ...(facts.systemd !== undefined ? { guestSystemd: facts.systemd } : {}),
    sshd: facts.sshd,
    users: facts.users,
  };
}
