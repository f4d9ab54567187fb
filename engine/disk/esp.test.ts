import { execFileSync } from "node:child_process";
import { closeSync, mkdirSync, openSync, readSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { findOnPath } from "../host/tools.js";
import { espCredentialFiles, openNullKeyCredential } from "../provision/esp-credentials.js";
import { tempDir } from "../../test/tmp.js";
import { espCopyCommand, findEsp, GPT_HEAD_BYTES } from "./esp.js";

const tools = ["sfdisk", "mkfs.fat", "mcopy", "mtype"].map((t) =>
  findOnPath(t, { PATH: `${process.env.PATH}:/usr/sbin:/sbin` } as unknown as NodeJS.ProcessEnv),
);
const haveTools = tools.every(Boolean);
const [sfdisk, mkfsFat] = tools as string[];
const mtoolsEnv = { ...process.env, MTOOLS_SKIP_CHECK: "1" };

/** A 40 MiB GPT disk: an ESP (FAT32) at 1 MiB when `esp`, else a Linux partition there. */
function gptDisk(esp: boolean): string {
  const disk = path.join(tempDir("esp-"), "disk.raw");
  writeFileSync(disk, "");
  execFileSync("truncate", ["-s", "40M", disk]);
  const type = esp ? "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" : "0FC63DAF-8483-4772-8E79-3D69D8477DE4";
  execFileSync(sfdisk!, ["-q", disk], { input: `label: gpt\nstart=2048, size=67584, type=${type}\n` });
  if (esp) execFileSync(mkfsFat!, ["-F", "32", "--offset", "2048", disk, String(67584 / 2)], { stdio: "ignore" });
  return disk;
}

function head(disk: string): Buffer {
  const buf = Buffer.alloc(GPT_HEAD_BYTES);
  const fd = openSync(disk, "r");
  readSync(fd, buf, 0, buf.length, 0);
  closeSync(fd);
  return buf;
}

describe("ESP files without mounting", () => {
  it("refuses a disk with no GPT", () => {
    expect(() => findEsp(Buffer.alloc(GPT_HEAD_BYTES), "disk.raw")).toThrow(/disk.raw has no GPT partition table/);
  });

  it("refuses a damaged GPT at once instead of looping over its entries or returning a negative size", () => {
    /** A head with an "EFI PART" header at sector 1 and the given table fields; one ESP entry at LBA 2. */
    const forged = (count: number, entrySize: number, first = 2048n, last = 4095n) => {
      const h = Buffer.alloc(GPT_HEAD_BYTES);
      h.write("EFI PART", 512, "latin1");
      h.writeBigUInt64LE(2n, 512 + 72);
      h.writeUInt32LE(count, 512 + 80);
      h.writeUInt32LE(entrySize, 512 + 84);
      Buffer.from("28732ac11ff8d211ba4b00a0c93ec93b", "hex").copy(h, 1024);
      h.writeBigUInt64LE(first, 1024 + 32);
      h.writeBigUInt64LE(last, 1024 + 40);
      return h;
    };
    expect(findEsp(forged(128, 128))).toEqual({ offset: 2048 * 512, size: 2048 * 512 });
    expect(() => findEsp(forged(0xffffffff, 0), "d.raw")).toThrow(/^d\.raw has a damaged GPT \(entries of 0 bytes, 4294967295 of them\)$/);
    expect(() => findEsp(forged(4096, 128))).toThrow(/damaged GPT/);
    expect(() => findEsp(forged(128, 128, 4096n, 2048n))).toThrow(/its EFI system partition runs from sector 4096 to 2048/);
  });

  it("merges a staged tree into the ESP at its offset, replacing what is there", () => {
    expect(espCopyCommand("/v/disk.raw", 1048576, "/v/stage", ["loader/credentials/tmpfiles.extra.cred", "EFI/BOOT/BOOTX64.EFI"])).toEqual({
      tool: "mcopy",
      args: ["-s", "-o", "-i", "/v/disk.raw@@1048576", "/v/stage/EFI", "/v/stage/loader", "::/"],
    });
    expect(() => espCopyCommand("/d", 0, "/s", ["../x"])).toThrow(/not a path inside the ESP/);
    expect(() => espCopyCommand("/d", 0, "/s", ["/loader/x"])).toThrow(/not a path inside the ESP/);
  });

  it.skipIf(!haveTools)("finds the ESP in a real GPT (sfdisk) and refuses one without", () => {
    expect(findEsp(head(gptDisk(true)))).toEqual({ offset: 1048576, size: 67584 * 512 });
    expect(() => findEsp(head(gptDisk(false)), "disk.raw")).toThrow(/disk.raw has no EFI system partition/);
  });

  it.skipIf(!haveTools)("writes credentials into a real FAT ESP with mtools, twice (a second boot's files replace the first's)", () => {
    const disk = gptDisk(true);
    const { offset } = findEsp(head(disk));
    for (const value of ["first\n", "second\n"]) {
      const stage = tempDir("esp-stage-");
      const files = espCredentialFiles([{ name: "tmpfiles.extra", value }]);
      for (const f of files) {
        mkdirSync(path.join(stage, path.dirname(f.path)), { recursive: true });
        writeFileSync(path.join(stage, f.path), f.content);
      }
      const c = espCopyCommand(
        disk,
        offset,
        stage,
        files.map((f) => f.path),
      );
      execFileSync(c.tool, c.args, { env: mtoolsEnv, stdio: "ignore" });
    }
    const text = execFileSync("mtype", ["-i", `${disk}@@${offset}`, "::/loader/credentials/tmpfiles.extra.cred"], { env: mtoolsEnv }).toString();
    expect(openNullKeyCredential(text)).toEqual({ name: "tmpfiles.extra", value: Buffer.from("second\n") });
  });
});
