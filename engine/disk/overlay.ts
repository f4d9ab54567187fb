/**
 * Per-VM overlays: a qcow2 file whose backing file is a base disk (a cache entry or a
 * user's premade disk). The guest writes only to its overlay, so the base stays shared
 * and a user's disk file is never modified.
 */
import { open, stat } from "node:fs/promises";
import { execa } from "execa";
import { BootcError } from "../core/errors.js";
import { findOnPath, INSTALL_HINT } from "../host/tools.js";

export type DiskFormat = "raw" | "qcow2";

function qemuImg(): string {
  const found = findOnPath("qemu-img");
  if (!found) throw new BootcError("MISSING_TOOL", "qemu-img was not found on PATH", INSTALL_HINT.qemu);
  return found;
}

/** What qemu-img says a file is; a clear error when it is missing or not a disk image. */
export async function inspectDisk(file: string): Promise<{ format: DiskFormat; virtualSize: number }> {
  const s = await stat(file).catch(() => undefined);
  if (!s) throw new BootcError("DISK_INVALID", `disk file ${file} does not exist`, "check the --disk path");
  if (!s.isFile()) throw new BootcError("DISK_INVALID", `${file} is not a file`, "--disk takes a .qcow2 or .raw disk image");
  const r = await execa(qemuImg(), ["info", "--output=json", file], { reject: false });
  const info = r.exitCode === 0 ? (JSON.parse(String(r.stdout)) as QemuImgInfo) : undefined;
  const format = info?.format;
  refuseExternalFiles(file, info);
  if (format !== "raw" && format !== "qcow2") {
    throw new BootcError(
      "DISK_INVALID",
      `${file} is not a disk image qemu can boot (${format ?? String(r.stderr).trim()})`,
      "--disk takes a .qcow2 or .raw disk image",
    );
  }
  // Anything is a "raw" disk to qemu-img: a disk has a boot sector signature (0x55AA at
  // 510, also in GPT's protective MBR) or is a bare ext filesystem (magic at 1080).
  if (format === "raw" && !(await looksLikeDisk(file))) {
    throw new BootcError("DISK_INVALID", `${file} is not a disk image (no partition table or boot sector)`, "--disk takes a .qcow2 or .raw disk image");
  }
  return { format, virtualSize: info?.["virtual-size"] ?? s.size };
}

interface QemuImgInfo {
  format?: string;
  "virtual-size"?: number;
  "backing-filename"?: string;
  "format-specific"?: { type?: string; data?: { "data-file"?: string } };
}

/**
 * A disk file from the internet is untrusted. A qcow2 can name another file as its backing
 * file or external data file, and qemu (running as root) would open that file — any file
 * on the host, /etc/shadow included — as part of the guest's disk. Such images are refused;
 * a user who trusts the files it names can flatten it into a self-contained image first.
 */
function refuseExternalFiles(file: string, info: QemuImgInfo | undefined): void {
  const named = info?.["backing-filename"] ?? info?.["format-specific"]?.data?.["data-file"];
  if (named === undefined) return;
  const what = info?.["backing-filename"] !== undefined ? "a backing file" : "an external data file";
  throw new BootcError(
    "DISK_INVALID",
    `${file} names ${what} (${named}), which qemu would open as part of the guest's disk: refused, because a downloaded image could read any host file this way`,
    `if you trust the files it names, make a self-contained copy and boot that: qemu-img convert -O qcow2 ${file} flat.qcow2`,
  );
}

async function looksLikeDisk(file: string): Promise<boolean> {
  const fh = await open(file, "r");
  try {
    const buf = Buffer.alloc(1082);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const mbr = bytesRead >= 512 && buf[510] === 0x55 && buf[511] === 0xaa;
    const ext = bytesRead >= 1082 && buf[1080] === 0x53 && buf[1081] === 0xef;
    return mbr || ext;
  } finally {
    await fh.close();
  }
}

/**
 * qemu-img arguments for an overlay of `base`, `sizeBytes` large (at least the base's size).
 * `-u`: qemu-img does not open the base, so it follows none of the files a user's disk may
 * name; the size is given instead of read from it.
 */
export function overlayArgs(base: string, baseFormat: DiskFormat, overlay: string, sizeBytes: number): string[] {
  return ["create", "-q", "-f", "qcow2", "-u", "-b", base, "-F", baseFormat, overlay, String(sizeBytes)];
}

export async function createOverlay(base: string, baseFormat: DiskFormat, overlay: string, sizeBytes: number): Promise<void> {
  const r = await execa(qemuImg(), overlayArgs(base, baseFormat, overlay, sizeBytes), { reject: false });
  if (r.exitCode !== 0) throw new BootcError("DISK_BUILD_FAILED", `qemu-img could not create the overlay: ${String(r.stderr).trim()}`);
}
