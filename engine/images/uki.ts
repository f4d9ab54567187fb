/**
 * Unified kernel images (UKI): one PE/EFI executable carrying the kernel (`.linux`), the
 * initramfs (`.initrd`) and the kernel command line (`.cmdline`) as sections. The engine
 * boots the kernel directly, so it takes those sections out. A UKI comes from an image
 * someone downloaded: every offset and size is checked against the file before use.
 */
import { open } from "node:fs/promises";
import { BootcError } from "../core/errors.js";

export interface PeSection {
  name: string;
  /** Where the section's bytes are in the file, and how many belong to it. */
  offset: number;
  size: number;
}

const MAX_SECTIONS = 96; // the PE format's own limit

/** The section table of a PE file, from its headers (the first 4 KiB are enough for them). */
export function peSections(head: Buffer, fileSize: number): PeSection[] {
  const bad = (why: string): never => {
    throw new Error(`not a PE file: ${why}`);
  };
  if (head.length < 64 || head.toString("latin1", 0, 2) !== "MZ") bad("no MZ header");
  const pe = head.readUInt32LE(0x3c);
  if (pe + 24 > head.length || head.toString("latin1", pe, pe + 4) !== "PE\0\0") bad("no PE signature");
  const count = head.readUInt16LE(pe + 6);
  const optionalSize = head.readUInt16LE(pe + 20);
  if (count > MAX_SECTIONS) bad(`${count} sections`);
  const table = pe + 24 + optionalSize;
  if (table + count * 40 > head.length) bad("section table beyond the headers");
  const sections: PeSection[] = [];
  for (let i = 0; i < count; i++) {
    const at = table + i * 40;
    const name = head.toString("latin1", at, at + 8).replace(/\0+$/, "");
    const virtualSize = head.readUInt32LE(at + 8);
    const rawSize = head.readUInt32LE(at + 16);
    const offset = head.readUInt32LE(at + 20);
    // The loaded size is VirtualSize; the file holds SizeOfRawData (padded). Never past the file.
    const size = Math.min(virtualSize || rawSize, rawSize);
    if (offset + size > fileSize) bad(`section ${name} runs past the end of the file`);
    sections.push({ name, offset, size });
  }
  return sections;
}

export interface UkiParts {
  linux: PeSection;
  initrd: PeSection;
  /** The embedded command line's words ([] without a .cmdline section). */
  cmdline: string[];
}

/** Reads a UKI's headers and command line; refuses one without a kernel or an initramfs. */
export async function readUki(file: string): Promise<UkiParts> {
  const fh = await open(file, "r");
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(Math.min(4096, size));
    await fh.read(head, 0, head.length, 0);
    let sections: PeSection[];
    try {
      sections = peSections(head, size);
    } catch (e) {
      throw new BootcError(
        "IMAGE_NOT_BOOTABLE",
        `the unified kernel image ${file} is unreadable: ${(e as Error).message}`,
        "rebuild the UKI (ukify build), or ship vmlinuz and initramfs.img",
      );
    }
    const find = (name: string) => sections.find((s) => s.name === name);
    const linux = find(".linux");
    const initrd = find(".initrd");
    if (!linux || !initrd) {
      throw new BootcError(
        "IMAGE_NOT_BOOTABLE",
        `the unified kernel image ${file} has no ${linux ? ".initrd" : ".linux"} section`,
        "a UKI needs the kernel and an initramfs with the virtiofs module",
      );
    }
    const cmd = find(".cmdline");
    let cmdline: string[] = [];
    if (cmd && cmd.size <= 64 * 1024) {
      const buf = Buffer.alloc(cmd.size);
      await fh.read(buf, 0, cmd.size, cmd.offset);
      cmdline = buf.toString("utf8").replace(/\0+$/, "").trim().split(/\s+/).filter(Boolean);
    }
    return { linux, initrd, cmdline };
  } finally {
    await fh.close();
  }
}

/** Copies one section of `file` to `out`. */
export async function extractSection(file: string, section: PeSection, out: string): Promise<void> {
  const src = await open(file, "r");
  const dst = await open(out, "w", 0o600);
  try {
    const chunk = Buffer.alloc(1024 * 1024);
    for (let done = 0; done < section.size;) {
      const n = Math.min(chunk.length, section.size - done);
      const { bytesRead } = await src.read(chunk, 0, n, section.offset + done);
      if (bytesRead === 0) throw new Error(`${file} ended inside section ${section.name}`);
      await dst.write(chunk, 0, bytesRead);
      done += bytesRead;
    }
  } finally {
    await src.close();
    await dst.close();
  }
}

/**
 * The UKI's own command line, less what says where the root is: the engine decides that
 * (a virtiofs root, or the VM's disk). Everything else (console=, quiet, …) is kept.
 */
export function ukiKernelArgs(cmdline: string[]): string[] {
  return cmdline.filter((a) => !/^(root|rootfstype|rootflags|ostree|composefs)=/.test(a) && a !== "ro" && a !== "rw");
}
