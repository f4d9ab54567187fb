/**
 * The disk cache as users see it: entries with their size, image, age and the VMs that
 * use them; pruning what no VM uses; and what `--rmi` removes when its VM goes. The roots
 * exported from another podman (images/root-cache.ts) are entries of it too, of kind "root".
 */
import { readdir, stat } from "node:fs/promises";
import { execa } from "execa";
import { BootcError } from "../core/errors.js";
import { vmPaths, vmsDir, type EnginePaths } from "../core/paths.js";
import { listOverlaySnapshots } from "./snapshots.js";
import { listWarmEntries } from "./warm-cache.js";
import { podmanCommand, podmanPath, remotePodmanError } from "../host/podman.js";
import { describePodman, type PodmanConnection } from "../core/podman-connection.js";
import { listRootEntries, removeRootEntry, rootImageCurrent, rootUsage, sweepDeadRoots } from "../images/root-cache.js";
import { readRecord, type VmRecord } from "../core/record.js";
import { entryUsage, listEntries, removeEntry, type DiskEntry } from "./cache.js";

export interface DiskInfo extends DiskEntry {
  kind: "disk";
  /** Bytes allocated on the host (the base is sparse). */
  usageBytes: number;
  ageSec: number;
  usedBy: string[];
  /**
   * Whether the image name still refers to the image the disk was built from; false once
   * it was rebuilt (the name moved on) or removed.
   */
  imageCurrent: boolean;
  /** Bytes the overlays of the VMs using it take on the host: what their guests wrote, and their snapshots. */
  overlayBytes: number;
  /** Snapshots in those overlays (bootc snapshot) and the memory they hold; their disk part is shared copy-on-write with the overlay. */
  snapshots: number;
  snapshotMemoryBytes: number;
  /** Warm starts saved on it (bootc run --rm --warm), and what they take on the host; they go with it. */
  warm: number;
  warmBytes: number;
}

/** What the overlays of `vms` hold: host bytes, snapshots, and the memory those keep. A VM whose overlay cannot be read counts 0. */
async function overlaysOf(paths: EnginePaths, vms: VmRecord[]): Promise<Pick<DiskInfo, "overlayBytes" | "snapshots" | "snapshotMemoryBytes">> {
  let overlayBytes = 0;
  let snapshots = 0;
  let snapshotMemoryBytes = 0;
  for (const v of vms) {
    const file = vmPaths(v.name, paths).overlay;
    const s = await stat(file).catch(() => undefined);
    if (!s) continue;
    overlayBytes += s.blocks * 512;
    const snaps = await listOverlaySnapshots(file).catch(() => []);
    snapshots += snaps.length;
    snapshotMemoryBytes += snaps.reduce((n, x) => n + x.vmStateBytes, 0);
  }
  return { overlayBytes, snapshots, snapshotMemoryBytes };
}

/** The root filesystem of an image of another podman, exported for ephemeral boots (images/remote-root.ts). */
export interface RootInfo {
  kind: "root";
  /** The image id. */
  key: string;
  image: string;
  imageId: string;
  /** The podman it was exported from. */
  podman?: PodmanConnection;
  createdAt: string;
  usageBytes: number;
  ageSec: number;
  usedBy: string[];
  /** False once the name there refers to another image, or to none. */
  imageCurrent: boolean;
}

/** An entry of the cache: a base disk or an exported root. */
export type CacheInfo = DiskInfo | RootInfo;

async function allRecords(paths: EnginePaths): Promise<VmRecord[]> {
  const names = await readdir(vmsDir(paths)).catch(() => [] as string[]);
  const out: VmRecord[] = [];
  for (const n of names) {
    const r = await readRecord(n, paths).catch(() => undefined);
    if (r) out.push(r);
  }
  return out;
}

async function currentImageId(ref: string): Promise<string | undefined> {
  const r = await execa(podmanPath(), ["image", "inspect", "--format", "{{.Id}}", ref], { reject: false });
  return r.exitCode === 0 ? String(r.stdout).trim() : undefined;
}

export async function listDisks(paths: EnginePaths): Promise<DiskInfo[]> {
  const vms = await allRecords(paths);
  const out: DiskInfo[] = [];
  const warm = await listWarmEntries(paths);
  for (const e of await listEntries(paths)) {
    const users = vms.filter((v) => v.disk?.base === e.key);
    const warmHere = warm.filter((w) => w.base === e.key);
    out.push({
      warm: warmHere.length,
      warmBytes: warmHere.reduce((n, w) => n + w.usageBytes, 0),
      ...(await overlaysOf(paths, users)),
      ...e,
      kind: "disk",
      usageBytes: await entryUsage(paths, e.key),
      ageSec: Math.round((Date.now() - Date.parse(e.createdAt)) / 1000),
      usedBy: users.map((v) => v.name),
      // A disk built in another podman: its image is asked of that podman (kept if it cannot be asked).
      imageCurrent: e.podman ? await rootImageCurrent(e) : (await currentImageId(e.image)) === e.imageId,
    });
  }
  return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

export async function listRoots(paths: EnginePaths): Promise<RootInfo[]> {
  const vms = await allRecords(paths);
  const out: RootInfo[] = [];
  for (const e of await listRootEntries(paths)) {
    out.push({
      kind: "root",
      ...e,
      usageBytes: await rootUsage(paths, e.key),
      ageSec: Math.round((Date.now() - Date.parse(e.createdAt)) / 1000),
      // Only VMs of an image of another podman boot from it; a local VM of the same id mounts the local image.
      usedBy: vms.filter((v) => v.podman && v.imageId.replace(/^sha256:/, "") === e.key).map((v) => v.name),
      imageCurrent: await rootImageCurrent(e),
    });
  }
  return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
}

/** Base disks, then exported roots. */
export async function listCache(paths: EnginePaths): Promise<CacheInfo[]> {
  return [...(await listDisks(paths)), ...(await listRoots(paths))];
}

/**
 * Removes entries no VM uses: by default those whose image was rebuilt or removed (its
 * name no longer refers to the image they were built from); with `all`, every unused
 * one. `dryRun` only reports. Leftovers of interrupted exports whose process is gone go too.
 */
export async function pruneDisks(paths: EnginePaths, opts: { all?: boolean; dryRun?: boolean } = {}): Promise<CacheInfo[]> {
  const doomed = (await listCache(paths)).filter((d) => d.usedBy.length === 0 && (opts.all || !d.imageCurrent));
  if (opts.dryRun) return doomed;
  for (const d of doomed) await (d.kind === "root" ? removeRootEntry(paths, d.key) : removeEntry(paths, d.key, []));
  await sweepDeadRoots(paths);
  return doomed;
}

export async function removeDisk(paths: EnginePaths, key: string): Promise<void> {
  const matches = (await listCache(paths)).filter((x) => x.key === key || x.key.startsWith(key));
  const d = matches[0];
  if (!d) throw new BootcError("DISK_INVALID", `no cached disk or exported root ${key}`, "list them with: bootc disks");
  if (matches.length > 1)
    throw new BootcError("INVALID_ARGUMENT", `"${key}" names ${matches.length} cache entries`, "give more of the key (bootc disks --json shows it whole)");
  if (d.kind === "disk") return removeEntry(paths, d.key, d.usedBy);
  if (d.usedBy.length)
    throw new BootcError(
      "DISK_IN_USE",
      `the exported root of ${d.image || d.key} is used by ${d.usedBy.join(", ")}`,
      `remove those VMs first (bootc rm ${d.usedBy.join(" ")})`,
    );
  await removeRootEntry(paths, d.key);
}

/**
 * `--rmi`: after its VM is gone, removes the image's cached base disks (and, for an image of
 * another podman, its exported root) and the image itself, unless another VM still uses
 * them. `from`: the image is in another podman (a connection): it is removed there, by id,
 * and only while the VM's name there still refers to that id; the local podman is never
 * asked (it may hold an image of the same id, which is not this VM's).
 */
export async function releaseImage(paths: EnginePaths, imageId: string, from?: { podman: PodmanConnection; ref: string }): Promise<string[]> {
  const notes: string[] = [];
  const vms = await allRecords(paths);
  const key = imageId.replace(/^sha256:/, "");
  for (const d of from ? await listCache(paths) : await listDisks(paths)) {
    if ((d.kind === "disk" && d.imageId !== imageId) || (d.kind === "root" && d.key !== key)) continue;
    if (d.usedBy.length) notes.push(`kept ${d.kind === "root" ? "exported root" : "base disk"} ${d.key}: used by ${d.usedBy.join(", ")}`);
    else await (d.kind === "root" ? removeRootEntry(paths, d.key) : removeEntry(paths, d.key, []));
  }
  const users = vms.filter((v) => v.imageId === imageId).map((v) => v.name);
  if (users.length) {
    notes.push(`kept the image: used by ${users.join(", ")}`);
    return notes;
  }
  if (from) {
    const note = await removeRemoteImage(from.podman, from.ref, imageId);
    return note ? [...notes, note] : notes;
  }
  // Never forced: `rmi -f` would also remove every container using the image and every
  // other tag on it. podman's own refusal says what still uses it.
  const r = await execa(podmanPath(), ["rmi", imageId], { reject: false });
  if (r.exitCode !== 0) notes.push(`kept the image ${imageId.slice(0, 12)}: ${firstLine(String(r.stderr))}`);
  return notes;
}

const firstLine = (s: string) =>
  s
    .replace(/^Error: /, "")
    .trim()
    .split("\n")[0] ?? "";

/** Why an image of another podman is kept rather than removed by `--rmi`, or undefined to remove it: its name there must still be the VM's image. */
export function remoteRmiBlocker(ref: string, vmImageId: string, currentId: string | undefined, where: string): string | undefined {
  const want = vmImageId.replace(/^sha256:/, "");
  if (currentId === undefined)
    return `kept the image ${want.slice(0, 12)} in ${where}: ${ref} is not there any more (podman rmi ${want.slice(0, 12)} there removes it)`;
  const now = currentId.replace(/^sha256:/, "");
  if (now !== want) return `kept the image ${want.slice(0, 12)} in ${where}: ${ref} is another image there now (${now.slice(0, 12)}), not this VM's`;
  return undefined;
}

/** `podman rmi ID` in `c`, never forced; a note when it stays (podman refused, or the name moved on). */
async function removeRemoteImage(c: PodmanConnection, ref: string, imageId: string): Promise<string | undefined> {
  const where = describePodman(c);
  const ask = async (args: string[]) => {
    const cmd = podmanCommand(args, c);
    return execa(cmd.file, cmd.args, { ...cmd.options, reject: false, timeout: 60_000, encoding: "utf8" });
  };
  const current = await ask(["image", "inspect", "--format", "{{.Id}}", ref]);
  if (current.exitCode !== 0 && !/image not known|no such image|failed to find image/i.test(String(current.stderr)))
    return `kept the image ${imageId.slice(0, 12)} in ${where}: ${remotePodmanError(String(current.stderr), c)?.message ?? firstLine(String(current.stderr))}`;
  const blocker = remoteRmiBlocker(ref, imageId, current.exitCode === 0 ? String(current.stdout).trim() : undefined, where);
  if (blocker) return blocker;
  const r = await ask(["rmi", imageId.replace(/^sha256:/, "")]);
  if (r.exitCode !== 0) return `kept the image ${imageId.slice(0, 12)} in ${where}: ${firstLine(String(r.stderr))}`;
  return `removed the image ${imageId.slice(0, 12)} from ${where}`;
}
