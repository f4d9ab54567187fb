/**
 * Puts files into the EFI system partition of a VM's own disk (its qcow2 overlay, or a raw
 * file) before a boot, with no mount, no loop device and no root: the ESP's bytes are copied
 * out with `qemu-img dd` (found from the GPT, esp.ts), the files merged into that FAT with
 * mtools, and only the 64 KiB blocks that changed are written back with `qemu-io` — so the
 * overlay grows by the few blocks mtools touched, not by the partition's size. The base disk
 * under the overlay is never written. Used by the esp credential transport (docs/macos.md).
 */
import { copyFile, mkdir, mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { BootcError } from "../core/errors.js";
import { espCopyCommand, findEsp, GPT_HEAD_BYTES } from "./esp.js";

const BLOCK = 64 * 1024;

/** The largest block size (≤ 1 MiB) that divides both `offset` and `size`: qemu-img dd counts in blocks. */
export function ddBlockSize(offset: number, size: number): number {
  let bs = 1024 * 1024;
  while (bs > 512 && (offset % bs || size % bs)) bs /= 2;
  return bs;
}

/** The byte ranges where `a` and `b` differ, in `block`-sized pieces merged when adjacent. */
export function changedRanges(a: Buffer, b: Buffer, block = BLOCK): Array<{ start: number; end: number }> {
  const out: Array<{ start: number; end: number }> = [];
  for (let at = 0; at < Math.max(a.length, b.length); at += block) {
    if (a.subarray(at, at + block).equals(b.subarray(at, at + block))) continue;
    const end = Math.min(at + block, b.length);
    const last = out[out.length - 1];
    if (last && last.end === at) last.end = end;
    else out.push({ start: at, end });
  }
  return out;
}

/**
 * Writes `files` (paths inside the ESP) into the ESP of `disk`, replacing files of the same
 * name. `work` is a private directory of the VM's for the copies (they hold the files).
 */
export async function writeEspFiles(disk: string, format: "qcow2" | "raw", files: Array<{ path: string; content: string }>, work: string): Promise<void> {
  // Checked before anything is staged (espCopyCommand checks them again): a ".." would stage outside the work directory.
  for (const f of files) {
    if (path.isAbsolute(f.path) || f.path.split("/").some((p) => p === ".." || p === ""))
      throw new BootcError("INVALID_ARGUMENT", `"${f.path}" is not a path inside the ESP`);
  }
  await mkdir(work, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(path.join(work, "esp-"));
  // qemu-io reads its commands as words: a path with blanks in it could not be named there.
  if (/\s/.test(dir)) throw new BootcError("INVALID_ARGUMENT", `the VM's directory ${dir} has a blank in its path, which qemu-io cannot take`);
  try {
    const dd = (args: string[]) => execa("qemu-img", ["dd", "-f", format, "-O", "raw", ...args]);
    const head = path.join(dir, "head");
    await dd(["bs=512", `count=${Math.ceil(GPT_HEAD_BYTES / 512)}`, `if=${disk}`, `of=${head}`]);
    const esp = findEsp(await readFile(head), `the VM's disk`);
    const bs = ddBlockSize(esp.offset, esp.size);
    const before = path.join(dir, "esp.before");
    const after = path.join(dir, "esp.raw");
    await dd([`bs=${bs}`, `skip=${esp.offset / bs}`, `count=${esp.size / bs}`, `if=${disk}`, `of=${before}`]);
    await copyFile(before, after);
    const stage = path.join(dir, "stage");
    for (const f of files) {
      await mkdir(path.dirname(path.join(stage, f.path)), { recursive: true });
      await writeFile(path.join(stage, f.path), f.content, { mode: 0o600 });
    }
    const cmd = espCopyCommand(
      after,
      0,
      stage,
      files.map((f) => f.path),
    );
    const copied = await execa(cmd.tool, cmd.args, { env: { MTOOLS_SKIP_CHECK: "1" }, reject: false, all: true });
    if (copied.exitCode !== 0)
      throw new BootcError(
        "DISK_INVALID",
        `writing the credentials into the disk's EFI system partition failed: ${String(copied.all).trim().split("\n").pop()}`,
      );
    const writes = await changedBlocks(before, after, esp.size, dir);
    if (writes.length)
      await execa("qemu-io", ["-f", format, ...writes.flatMap((w) => ["-c", `write -q -s ${w.file} ${esp.offset + w.start} ${w.length}`]), disk]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The changed pieces of the ESP, each in a file of its own (qemu-io's `write -s` reads a file from its start). */
async function changedBlocks(before: string, after: string, size: number, dir: string) {
  const [a, b] = await Promise.all([open(before), open(after)]);
  const out: Array<{ file: string; start: number; length: number }> = [];
  try {
    const window = 16 * 1024 * 1024;
    for (let at = 0; at < size; at += window) {
      const len = Math.min(window, size - at);
      const [x, y] = [Buffer.alloc(len), Buffer.alloc(len)];
      await a.read(x, 0, len, at);
      await b.read(y, 0, len, at);
      for (const r of changedRanges(x, y)) {
        const file = path.join(dir, `block-${out.length}`);
        await writeFile(file, y.subarray(r.start, r.end), { mode: 0o600 });
        out.push({ file, start: at + r.start, length: r.end - r.start });
      }
    }
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
  return out;
}
