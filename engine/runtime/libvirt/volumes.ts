/**
 * Disks of libvirt VMs, as volumes of one storage pool on the libvirt host. A base disk
 * (made locally from the image, engine/disk) is uploaded once per cache key — image digest,
 * builder and size — and the pool's volumes are the cache on that host: a second VM of the
 * same image, from this machine or another, uploads nothing. Each VM gets its own qcow2
 * overlay volume on the base, as in the direct runtime.
 *
 * An upload is complete when its `.ready` marker volume exists (volumes cannot be renamed):
 * a base without one is the remains of an interrupted upload and is replaced.
 */
import { createHash } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { BootcError } from "../../core/errors.js";
import { tryLock, unlock } from "../../core/lockfile.js";
import { uploadLock, type EnginePaths } from "../../core/paths.js";
import { ensurePrivateDir } from "../../core/private-dir.js";
import type { Connection } from "./connection.js";
import { poolDirectory } from "./domain.js";
import { virsh, virshMaybe } from "./virsh.js";

export const DEFAULT_POOL = "bootc";

export const baseVolumes = (key: string) => ({
  disk: `bootc-base-${key}.raw`,
  kernel: `bootc-base-${key}.vmlinuz`,
  initrd: `bootc-base-${key}.initrd`,
  ready: `bootc-base-${key}.ready`,
});
export const overlayVolume = (vm: string) => `bootc-vm-${vm}.qcow2`;
/** A VM's cloud-init seed ISO (--cloudinit). */
export const seedVolume = (vm: string) => `bootc-vm-${vm}-seed.iso`;

/** The pool's directory on the libvirt host (a dir pool: its volumes are files there). */
export async function poolPath(c: Connection, pool: string): Promise<string> {
  const p = poolDirectory(await virsh(c, ["pool-dumpxml", pool]));
  if (!p) throw new BootcError("LIBVIRT_FAILED", `storage pool ${pool} on ${c.label} has no directory`, "bootc needs a directory (dir) pool");
  return p;
}

/**
 * The pool, active. bootc's own default pool is made on first use (a directory under
 * libvirt's images directory); a pool the user named must exist.
 */
export async function ensurePool(c: Connection, pool: string): Promise<string> {
  const info = await virshMaybe(c, ["pool-info", pool]);
  if (info === undefined) {
    if (pool !== DEFAULT_POOL) {
      throw new BootcError(
        "LIBVIRT_FAILED",
        `storage pool ${pool} does not exist on ${c.label}`,
        `create it (virsh -c ${c.uri} pool-define-as ${pool} dir --target DIR; pool-build; pool-start; pool-autostart), or leave the pool out to use bootc's own`,
      );
    }
    const dir = c.instance === "system" ? "/var/lib/libvirt/images/bootc" : c.local ? path.join(os.homedir(), ".local/share/libvirt/images/bootc") : undefined;
    if (!dir)
      throw new BootcError(
        "LIBVIRT_FAILED",
        `a session connection to ${c.label} has no pool ${pool}`,
        `create a dir pool named ${pool} there, or use ${c.uri.replace(/\/session/, "/system")}`,
      );
    await virsh(c, ["pool-define-as", pool, "dir", "--target", dir]);
    await virsh(c, ["pool-build", pool]);
    await virsh(c, ["pool-autostart", pool]);
  } else if (/^State:\s+running/m.test(info)) {
    return poolPath(c, pool);
  }
  await virsh(c, ["pool-start", pool]);
  return poolPath(c, pool);
}

async function volumeExists(c: Connection, pool: string, vol: string): Promise<boolean> {
  return (await virshMaybe(c, ["vol-info", "--pool", pool, vol])) !== undefined;
}

export async function deleteVolume(c: Connection, pool: string, vol: string): Promise<void> {
  if (await volumeExists(c, pool, vol)) await virsh(c, ["vol-delete", "--pool", pool, vol]);
}

/** Uploads `file` as volume `vol` (replacing one of that name). */
export async function uploadVolume(
  c: Connection,
  pool: string,
  vol: string,
  file: string,
  sizeBytes: number,
  format: "raw" | "qcow2",
  sparse: boolean,
): Promise<void> {
  await deleteVolume(c, pool, vol);
  await virsh(c, ["vol-create-as", pool, vol, String(sizeBytes), "--format", format]);
  // --sparse sends only the written parts of a 10 GiB disk that holds 400 MiB.
  await virsh(c, ["vol-upload", ...(sparse ? ["--sparse"] : []), "--pool", pool, vol, file], { timeoutMs: 60 * 60_000 });
}

export interface BaseFiles {
  key: string;
  disk: string;
  /** raw for bootc's base disks; a premade disk may be qcow2 (checked: no backing or data file). */
  format: "raw" | "qcow2";
  sizeBytes: number;
  kernel?: { file: string; sizeBytes: number };
  initrd?: { file: string; sizeBytes: number };
}

/**
 * Makes sure the host has the base disk (and the kernel and initramfs of a direct-built
 * one). Returns whether it was there already. Two uploads of the same base from this
 * machine take turns; the second finds it there.
 */
export async function ensureBase(
  paths: EnginePaths,
  c: Connection,
  pool: string,
  base: BaseFiles,
  onStep: (step: string) => void,
): Promise<{ reused: boolean }> {
  const v = baseVolumes(base.key);
  if (await volumeExists(c, pool, v.ready)) return { reused: true };
  const lock = uploadLock(paths, createHash("sha256").update(`${c.uri}\0${pool}\0${base.key}`).digest("hex").slice(0, 24));
  await ensurePrivateDir(path.dirname(lock), paths);
  const deadline = Date.now() + 60 * 60_000;
  while (!(await tryLock(lock))) {
    if (Date.now() > deadline)
      throw new BootcError("VM_BUSY", `another upload of the same base disk to ${c.label} is still running`, "wait for it, then try again");
    onStep(`waiting for another upload of the base disk to ${c.label}`);
    await sleep(1000);
  }
  try {
    if (await volumeExists(c, pool, v.ready)) return { reused: true };
    onStep(`uploading the base disk to ${c.label} (pool ${pool}, once per image)`);
    if (base.kernel) await uploadVolume(c, pool, v.kernel, base.kernel.file, base.kernel.sizeBytes, "raw", false);
    if (base.initrd) await uploadVolume(c, pool, v.initrd, base.initrd.file, base.initrd.sizeBytes, "raw", false);
    await uploadVolume(c, pool, v.disk, base.disk, base.sizeBytes, base.format, base.format === "raw");
    await virsh(c, ["vol-create-as", pool, v.ready, "0", "--format", "raw"]);
    return { reused: false };
  } finally {
    await unlock(lock);
  }
}

/** The VM's overlay on the base; an existing one (the same VM booted again) is kept. */
export async function ensureOverlay(c: Connection, pool: string, vm: string, baseKey: string, sizeBytes: number, baseFormat: "raw" | "qcow2"): Promise<void> {
  const vol = overlayVolume(vm);
  if (await volumeExists(c, pool, vol)) return;
  // A premade disk's size is its own (0: keep the base's virtual size).
  const size = sizeBytes || Number((await virsh(c, ["vol-info", "--bytes", "--pool", pool, baseVolumes(baseKey).disk])).match(/Capacity:\s+(\d+)/)?.[1] ?? 0);
  await virsh(c, [
    "vol-create-as",
    pool,
    vol,
    String(size),
    "--format",
    "qcow2",
    "--backing-vol",
    baseVolumes(baseKey).disk,
    "--backing-vol-format",
    baseFormat,
  ]);
}
