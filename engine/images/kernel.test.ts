import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findOnPath } from "../host/tools.js";
import { kernelFormat, loadableKernel } from "./kernel.js";

const fixture = (name: string) => readFile(path.join(import.meta.dirname, "testdata", name));

/** An EFI zboot kernel as Linux's zboot-header.S lays it out, around a compressed payload. */
function zboot(payload: Buffer, compression: string): Buffer {
  const header = Buffer.alloc(512);
  header.write("MZ", 0, "latin1");
  header.write("zimg", 4, "latin1");
  header.writeUInt32LE(header.length, 8);
  header.writeUInt32LE(payload.length, 12);
  header.write(`${compression}\0`, 24, "latin1");
  header.writeUInt32LE(0x818223cd, 0x38); // LINUX_PE_MAGIC, where an Image has "ARMd"
  header.writeUInt32LE(0x40, 0x3c);
  header.write("PE\0\0", 0x40, "latin1");
  return Buffer.concat([header, payload]);
}

let dir: string;
let arm64Image: Buffer;
let x86BzImage: Buffer;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "bootc-kernel-"));
  arm64Image = await fixture("debian-6.1.0-57-arm64-vmlinuz.head");
  x86BzImage = await fixture("debian-6.12.117-amd64-vmlinuz.head");
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function file(name: string, data: Buffer): Promise<string> {
  const p = path.join(dir, name);
  await writeFile(p, data);
  return p;
}

describe("kernelFormat, on real kernels' headers", () => {
  it("reads Debian's arm64 vmlinuz as an arm64 Image (EFI stub in front)", () => {
    expect(kernelFormat(arm64Image)).toEqual({ kind: "arm64-image" });
  });

  it("reads Debian's amd64 vmlinuz as a bzImage", () => {
    expect(kernelFormat(x86BzImage)).toEqual({ kind: "x86-bzimage" });
  });

  it("reads a gzip-compressed Image as gzip", async () => {
    expect(kernelFormat(await fixture("debian-6.1.0-57-arm64-Image.head.gz"))).toEqual({ kind: "gzip" });
  });

  it("reads an EFI zboot header's payload offset, size and compression", () => {
    const packed = zboot(gzipSync(arm64Image), "gzip");
    expect(kernelFormat(packed)).toEqual({ kind: "zboot", payloadOffset: 512, payloadSize: packed.length - 512, compression: "gzip" });
  });

  it("knows nothing of other bytes", () => {
    expect(kernelFormat(Buffer.from("#!/bin/sh\necho not a kernel\n"))).toEqual({ kind: "unknown" });
    expect(kernelFormat(Buffer.alloc(0))).toEqual({ kind: "unknown" });
  });
});

describe("loadableKernel", () => {
  it("hands qemu an arm64 Image or a bzImage as it is", async () => {
    const image = await file("Image", arm64Image);
    expect(await loadableKernel(image, "aarch64", dir)).toEqual({ path: image, format: "arm64-image" });
    const bz = await file("bzImage", x86BzImage);
    expect(await loadableKernel(bz, "x86_64", dir)).toEqual({ path: bz, format: "x86-bzimage" });
  });

  it("unpacks a gzip-compressed Image", async () => {
    const out = await loadableKernel(await file("Image.gz", await fixture("debian-6.1.0-57-arm64-Image.head.gz")), "aarch64", dir);
    expect(out).toEqual({ path: path.join(dir, "vmlinux-unpacked"), format: "gzip", inner: "arm64-image" });
    expect(await readFile(out.path)).toEqual(arm64Image);
  });

  it("unpacks an EFI zboot kernel compressed with gzip", async () => {
    const out = await loadableKernel(await file("zboot-gzip", zboot(gzipSync(arm64Image), "gzip")), "aarch64", dir);
    expect(out.format).toBe("zboot");
    expect(await readFile(out.path)).toEqual(arm64Image);
  });

  it.runIf(findOnPath("zstd"))("unpacks an EFI zboot kernel compressed with zstd through the zstd program", async () => {
    const zst = execFileSync("zstd", ["-c", "-q"], { input: arm64Image });
    const out = await loadableKernel(await file("zboot-zstd", zboot(zst, "zstd")), "aarch64", dir);
    expect(await readFile(out.path)).toEqual(arm64Image);
  });

  it("refuses a zboot compression it cannot read, in one sentence", async () => {
    const k = await file("zboot-lzma", zboot(Buffer.from("not really lzma"), "lzma"));
    await expect(loadableKernel(k, "aarch64", dir, "/usr/lib/modules/6.9/vmlinuz")).rejects.toThrow(
      "the image's kernel /usr/lib/modules/6.9/vmlinuz is an EFI zboot kernel compressed with lzma, which bootc-console cannot read (it boots x86 bzImage and arm64 Image kernels, gzip-compressed or EFI zboot with gzip or zstd)",
    );
  });

  it("refuses a kernel of the other architecture, and a file that is no kernel", async () => {
    await expect(loadableKernel(await file("bz", x86BzImage), "aarch64", dir, "/usr/lib/modules/6.12/vmlinuz")).rejects.toThrow(
      "the image's kernel /usr/lib/modules/6.12/vmlinuz is an amd64 kernel but the guest is arm64",
    );
    await expect(loadableKernel(await file("junk", Buffer.from("hello")), "aarch64", dir, "k")).rejects.toThrow(
      /^the image's kernel k is in an unknown format/,
    );
    await expect(loadableKernel(await file("badgz", Buffer.from([0x1f, 0x8b, 1, 2, 3])), "aarch64", dir, "k")).rejects.toThrow(
      /is a gzip kernel whose payload does not decompress/,
    );
  });
});
