import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { extractSection, peSections, readUki, ukiKernelArgs } from "./uki.js";

const STUB = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub";
const tmp = mkdtempSync(path.join(os.tmpdir(), "bce-uki-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A UKI as ukify/objcopy make one: systemd's stub plus .cmdline, .linux and .initrd sections. */
function makeUki(parts: { cmdline?: string; linux?: Buffer; initrd?: Buffer }): string {
  const args: string[] = [];
  const add = (name: string, content: Buffer | string, vma: string) => {
    const f = path.join(tmp, name.slice(1));
    writeFileSync(f, content);
    args.push("--add-section", `${name}=${f}`, "--change-section-vma", `${name}=${vma}`);
  };
  if (parts.cmdline !== undefined) add(".cmdline", parts.cmdline, "0x30000");
  if (parts.linux) add(".linux", parts.linux, "0x2000000");
  if (parts.initrd) add(".initrd", parts.initrd, "0x3000000");
  const out = path.join(tmp, `uki-${Math.random().toString(36).slice(2)}.efi`);
  execFileSync("objcopy", [...args, STUB, out]);
  return out;
}

describe.skipIf(!existsSync(STUB))("unified kernel images", () => {
  const linux = Buffer.from("kernel bytes ".repeat(5000));
  const initrd = Buffer.from("initramfs bytes ".repeat(7000));

  it("finds the kernel, initramfs and command line, and extracts them byte for byte", async () => {
    const file = makeUki({ cmdline: "root=UUID=1234 ro console=ttyS0 quiet\0", linux, initrd });
    const parts = await readUki(file);
    expect(parts.cmdline).toEqual(["root=UUID=1234", "ro", "console=ttyS0", "quiet"]);
    await extractSection(file, parts.linux, path.join(tmp, "vmlinuz"));
    await extractSection(file, parts.initrd, path.join(tmp, "initrd"));
    expect(readFileSync(path.join(tmp, "vmlinuz")).equals(linux)).toBe(true);
    expect(readFileSync(path.join(tmp, "initrd")).equals(initrd)).toBe(true);
  });

  it("keeps the UKI's own arguments but not where it says the root is: the engine decides that", () => {
    expect(ukiKernelArgs(["root=UUID=1234", "ro", "rootflags=subvol=root", "composefs=abc", "console=ttyS0", "quiet"])).toEqual(["console=ttyS0", "quiet"]);
  });

  it("refuses a UKI without an initramfs, a truncated one, and a file that is not PE at all", async () => {
    await expect(readUki(makeUki({ linux }))).rejects.toThrow(/has no \.initrd section/);
    const cut = makeUki({ linux, initrd });
    truncateSync(cut, 8192);
    await expect(readUki(cut)).rejects.toThrow(/runs past the end of the file/);
    const text = path.join(tmp, "not.efi");
    writeFileSync(text, "#!/bin/sh\necho not a kernel\n");
    await expect(readUki(text)).rejects.toThrow(/unreadable: not a PE file: no MZ header/);
  });

  it("never reads outside the headers it was given, however the counts lie", () => {
    const head = Buffer.alloc(512);
    head.write("MZ");
    head.writeUInt32LE(64, 0x3c);
    head.write("PE\0\0", 64, "latin1");
    head.writeUInt16LE(90, 64 + 6); // 90 sections claimed, no room for them
    expect(() => peSections(head, 512)).toThrow(/section table beyond the headers/);
    head.writeUInt32LE(0xfffffff0, 0x3c);
    expect(() => peSections(head, 512)).toThrow(/no PE signature/);
  });
});
