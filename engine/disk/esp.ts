/**
 * Writing files into a disk image's EFI system partition without mounting anything (no
 * loop devices, no root, and it works on macOS): find the ESP in the GPT, then hand its
 * byte offset to mtools (`mcopy -i DISK@@OFFSET`), which edits the FAT in place. This is
 * how ESP credentials (provision/esp-credentials.ts) reach a VM's own copy of a disk
 * (docs/macos.md). Both halves are pure: the caller reads the disk's head and runs the
 * commands.
 */
import path from "node:path";
import { BootcError } from "../core/errors.js";

/** The ESP's partition type, C12A7328-F81F-11D2-BA4B-00A0C93EC93B, as GPT stores it (first three fields little-endian). */
const ESP_TYPE = Buffer.from("28732ac11ff8d211ba4b00a0c93ec93b", "hex");

/** How many bytes of the disk's head `findEsp` needs to see: the GPT header and 128 entries, at 4 KiB sectors too. */
export const GPT_HEAD_BYTES = 4096 * 2 + 128 * 128;

export interface EspLocation {
  /** Byte offset of the partition from the disk's start. */
  offset: number;
  size: number;
}

/**
 * The EFI system partition of a GPT disk, from the disk's first bytes. Sector size 512,
 * else 4096 (where the "EFI PART" header is found). A disk without a GPT or an ESP is
 * refused: it cannot carry ESP credentials.
 */
export function findEsp(head: Buffer, disk = "the disk"): EspLocation {
  for (const sector of [512, 4096]) {
    if (head.length < sector + 92 || head.toString("latin1", sector, sector + 8) !== "EFI PART") continue;
    const entriesLba = Number(head.readBigUInt64LE(sector + 72));
    const count = head.readUInt32LE(sector + 80);
    const entrySize = head.readUInt32LE(sector + 84);
    // The disk may be a download: entries of the spec's size or more, no more of them than
    // the head holds, and a partition that starts after the table and ends after it starts.
    if (entrySize < 128 || entrySize % 8 !== 0 || count > 128) {
      throw new BootcError("DISK_INVALID", `${disk} has a damaged GPT (entries of ${entrySize} bytes, ${count} of them)`);
    }
    for (let i = 0; i < count; i++) {
      const at = entriesLba * sector + i * entrySize;
      if (at + 48 > head.length) break;
      if (!head.subarray(at, at + 16).equals(ESP_TYPE)) continue;
      const first = Number(head.readBigUInt64LE(at + 32));
      const last = Number(head.readBigUInt64LE(at + 40));
      if (first < 2 || last < first || !Number.isSafeInteger(last * sector)) {
        throw new BootcError("DISK_INVALID", `${disk} has a damaged GPT (its EFI system partition runs from sector ${first} to ${last})`);
      }
      return { offset: first * sector, size: (last - first + 1) * sector };
    }
    throw new BootcError("DISK_INVALID", `${disk} has no EFI system partition`, "ESP credentials need a disk that boots through UEFI");
  }
  throw new BootcError("DISK_INVALID", `${disk} has no GPT partition table`, "ESP credentials need a disk that boots through UEFI");
}

/**
 * The mtools command that copies a staged tree into the FAT at `offset` bytes into `disk`:
 * `stage` holds the files at their paths inside the ESP (`loader/credentials/NAME.cred`),
 * and `mcopy -s -o` merges it into the ESP — directories made where missing, files already
 * there replaced (a later boot's credentials replace an earlier one's). Run it with
 * MTOOLS_SKIP_CHECK=1: a FAT inside a partition can disagree with the geometry mtools
 * guesses for the whole image. (`mmd` is no use: it fails on a directory that exists.)
 */
export function espCopyCommand(disk: string, offset: number, stage: string, espPaths: string[]): { tool: "mcopy"; args: string[] } {
  const tops = new Set<string>();
  for (const p of espPaths) {
    const parts = p.split("/");
    if (path.posix.isAbsolute(p) || parts.some((x) => x === "" || x === "." || x === ".."))
      throw new BootcError("INVALID_ARGUMENT", `not a path inside the ESP: ${JSON.stringify(p)}`);
    tops.add(parts[0]!);
  }
  return { tool: "mcopy", args: ["-s", "-o", "-i", `${disk}@@${offset}`, ...[...tops].sort().map((t) => path.join(stage, t)), "::/"] };
}
