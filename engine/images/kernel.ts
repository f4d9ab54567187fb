/**
 * Kernel file formats, for booting an image's kernel directly. qemu loads an x86 bzImage and
 * an arm64 `Image` itself; Debian 12's qemu (7.2) does not unpack EFI zboot kernels (Fedora's
 * arm64 `vmlinuz`, a PE whose payload is the compressed `Image`), so the engine unpacks those
 * and gzip-compressed kernels into the VM's runtime directory. A kernel the guest
 * architecture cannot run, or a format the engine cannot read, fails in one sentence.
 */
import { open, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { gunzip as gunzipCb } from "node:zlib";
import { BootcError } from "../core/errors.js";
import { podmanArchName, type GuestArch } from "../host/arch.js";

const gunzip = promisify(gunzipCb);

export type KernelFormat =
  | { kind: "arm64-image" }
  | { kind: "x86-bzimage" }
  | { kind: "gzip" }
  | { kind: "zboot"; payloadOffset: number; payloadSize: number; compression: string }
  | { kind: "unknown" };

/** Enough of a kernel's start to tell every format apart (the bzImage magic sits at 0x202). */
export const KERNEL_HEAD_BYTES = 4096;
/** An unpacked kernel larger than this is not a kernel. */
const MAX_KERNEL_BYTES = 512 * 1024 * 1024;

const ascii = (b: Buffer, at: number, len: number) => (b.length >= at + len ? b.toString("latin1", at, at + len) : "");

/**
 * The format of a kernel from its first bytes:
 * - arm64 `Image`: "ARM\x64" at 0x38 (Documentation/arch/arm64/booting.rst), with or
 *   without the EFI stub's "MZ" in front;
 * - EFI zboot: "MZ", then "zimg" at 4, the payload's offset and size (le32) at 8 and 12,
 *   and the compression's name (NUL-terminated) at 24 (drivers/firmware/efi/libstub/zboot-header.S);
 * - x86 bzImage: "HdrS" at 0x202 (Documentation/arch/x86/boot.rst);
 * - gzip: 1f 8b.
 */
export function kernelFormat(head: Buffer): KernelFormat {
  if (ascii(head, 0x38, 4) === "ARMd") return { kind: "arm64-image" };
  if (ascii(head, 0, 2) === "MZ" && ascii(head, 4, 4) === "zimg" && head.length >= 56) {
    const name = head.subarray(24, 56);
    const end = name.indexOf(0);
    return {
      kind: "zboot",
      payloadOffset: head.readUInt32LE(8),
      payloadSize: head.readUInt32LE(12),
      compression: name.toString("latin1", 0, end < 0 ? name.length : end),
    };
  }
  if (ascii(head, 0x202, 4) === "HdrS") return { kind: "x86-bzimage" };
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return { kind: "gzip" };
  return { kind: "unknown" };
}

/** The architecture a kernel that qemu loads as it is runs on. */
const ARCH_OF: Partial<Record<KernelFormat["kind"], GuestArch>> = { "arm64-image": "aarch64", "x86-bzimage": "x86_64" };

const unreadable = (label: string, what: string) =>
  new BootcError(
    "IMAGE_NOT_BOOTABLE",
    `the image's kernel ${label} is ${what}, which bootc-console cannot read (it boots x86 bzImage and arm64 Image kernels, gzip-compressed or EFI zboot with gzip or zstd)`,
    "rebuild the image with a kernel in one of those formats, or report the format with the kernel's package name",
  );

/** Decompresses a payload; zstd through the zstd program (Node 20's zlib has none). */
async function decompress(data: Buffer, compression: string, label: string): Promise<Buffer> {
  if (compression === "gzip") return gunzip(data, { maxOutputLength: MAX_KERNEL_BYTES });
  if (compression === "zstd") {
    const { execa } = await import("execa");
    const r = await execa("zstd", ["-dc"], { input: data, encoding: "buffer", reject: false, maxBuffer: MAX_KERNEL_BYTES }).catch((e: unknown) => ({
      failed: true,
      exitCode: undefined,
      stdout: Buffer.alloc(0),
      cause: e,
    }));
    if (r.failed || !(r.stdout instanceof Uint8Array)) {
      throw new BootcError(
        "MISSING_TOOL",
        `the image's kernel ${label} is zstd-compressed and the zstd program could not unpack it`,
        "install zstd (Debian/Ubuntu: apt-get install zstd; Fedora: dnf install zstd)",
      );
    }
    return Buffer.from(r.stdout);
  }
  throw unreadable(label, `an EFI zboot kernel compressed with ${compression || "an unnamed method"}`);
}

export interface LoadableKernel {
  /** The file qemu's -kernel loads: the image's own, or the unpacked copy in outDir. */
  path: string;
  format: KernelFormat["kind"];
  /** For a zboot or gzip kernel: the format inside. */
  inner?: KernelFormat["kind"];
}

/**
 * A kernel file qemu can load for a `guest` guest: the file itself when qemu reads its
 * format, else its unpacked `Image` written to `outDir`. `label` names the kernel in errors
 * (its path in the image).
 */
export async function loadableKernel(file: string, guest: GuestArch, outDir: string, label = file): Promise<LoadableKernel> {
  const fh = await open(file, "r");
  let head: Buffer;
  let format: KernelFormat;
  try {
    const buf = Buffer.alloc(KERNEL_HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    head = buf.subarray(0, bytesRead);
    format = kernelFormat(head);
    if (format.kind === "arm64-image" || format.kind === "x86-bzimage") {
      checkArch(format.kind, guest, label);
      return { path: file, format: format.kind };
    }
    if (format.kind === "unknown") throw unreadable(label, "in an unknown format");
    let packed: Buffer;
    if (format.kind === "zboot") {
      const { size } = await fh.stat();
      if (format.payloadOffset + format.payloadSize > size || format.payloadSize === 0) {
        throw unreadable(label, "an EFI zboot kernel whose payload lies outside the file");
      }
      packed = Buffer.alloc(format.payloadSize);
      await fh.read(packed, 0, format.payloadSize, format.payloadOffset);
    } else {
      packed = await fh.readFile();
    }
    const inner = await decompress(packed, format.kind === "zboot" ? format.compression : "gzip", label).catch((e: unknown) => {
      if (e instanceof BootcError) throw e;
      throw unreadable(label, `a ${format.kind === "zboot" ? "zboot" : "gzip"} kernel whose payload does not decompress`);
    });
    const innerFormat = kernelFormat(inner.subarray(0, KERNEL_HEAD_BYTES)).kind;
    if (innerFormat !== "arm64-image") throw unreadable(label, `a ${format.kind === "zboot" ? "zboot" : "gzip"} kernel that holds no arm64 Image`);
    checkArch(innerFormat, guest, label);
    const out = path.join(outDir, "vmlinux-unpacked");
    await writeFile(out, inner, { mode: 0o600 });
    return { path: out, format: format.kind, inner: innerFormat };
  } finally {
    await fh.close();
  }
}

function checkArch(kind: KernelFormat["kind"], guest: GuestArch, label: string): void {
  const arch = ARCH_OF[kind];
  if (!arch || arch === guest) return;
  throw new BootcError(
    "IMAGE_NOT_BOOTABLE",
    `the image's kernel ${label} is an ${podmanArchName(arch)} kernel but the guest is ${podmanArchName(guest)}`,
    "the image's config names the wrong architecture (podman image inspect --format '{{.Architecture}}'): rebuild it with podman build --platform linux/" +
      podmanArchName(arch),
  );
}
