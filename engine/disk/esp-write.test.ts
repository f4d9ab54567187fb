import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { findOnPath } from "../host/tools.js";
import { espCredentialFiles, openNullKeyCredential } from "../provision/esp-credentials.js";
import { tempDir } from "../../test/tmp.js";
import { changedRanges, ddBlockSize, writeEspFiles } from "./esp-write.js";

const PATH = { PATH: `${process.env.PATH}:/usr/sbin:/sbin` } as unknown as NodeJS.ProcessEnv;
const tools = ["sfdisk", "mkfs.fat", "mcopy", "mtype", "qemu-img", "qemu-io"].map((t) => findOnPath(t, PATH));
const haveTools = tools.every(Boolean);
const [sfdisk, mkfsFat] = tools as string[];

describe("writing files into a VM disk's ESP", () => {
  it("copies the ESP out in the largest blocks that fit its offset and size", () => {
    expect(ddBlockSize(1048576, 512 * 1048576)).toBe(1048576);
    expect(ddBlockSize(1048576, 1048576 + 65536)).toBe(65536);
    expect(ddBlockSize(2048 * 512 + 512, 4096)).toBe(512);
  });

  it("writes back only the 64 KiB blocks that changed, adjacent ones merged", () => {
    const a = Buffer.alloc(6 * 65536);
    const b = Buffer.from(a);
    b[10] = 1;
    b[65536 + 5] = 1;
    b[4 * 65536] = 1;
    expect(changedRanges(a, b)).toEqual([
      { start: 0, end: 2 * 65536 },
      { start: 4 * 65536, end: 5 * 65536 },
    ]);
    expect(changedRanges(a, Buffer.from(a))).toEqual([]);
  });

  it.skipIf(!haveTools)("puts credentials into the ESP of a qcow2 overlay, leaving its base untouched and the overlay small", async () => {
    const dir = tempDir("esp-write-");
    const base = path.join(dir, "base.raw");
    writeFileSync(base, "");
    execFileSync("truncate", ["-s", "80M", base]);
    execFileSync(sfdisk!, ["-q", base], { input: "label: gpt\nstart=2048, size=131072, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B\n" });
    execFileSync(mkfsFat!, ["-F", "32", "--offset", "2048", base, String(131072 / 2)], { stdio: "ignore" });
    const baseBefore = execFileSync("sha256sum", [base]).toString();
    const overlay = path.join(dir, "overlay.qcow2");
    execFileSync("qemu-img", ["create", "-q", "-f", "qcow2", "-b", base, "-F", "raw", overlay]);
    for (const value of ["first\n", "second\n"]) {
      await writeEspFiles(overlay, "qcow2", espCredentialFiles([{ name: "tmpfiles.extra", value }]), path.join(dir, "work"));
    }
    // Read back through the overlay: the second boot's file replaced the first's.
    const flat = path.join(dir, "flat.raw");
    execFileSync("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", overlay, flat]);
    const text = execFileSync("mtype", ["-i", `${flat}@@1048576`, "::/loader/credentials/tmpfiles.extra.cred"], {
      env: { ...process.env, MTOOLS_SKIP_CHECK: "1" },
    }).toString();
    expect(openNullKeyCredential(text)).toEqual({ name: "tmpfiles.extra", value: Buffer.from("second\n") });
    expect(execFileSync("sha256sum", [base]).toString()).toBe(baseBefore);
    const info = JSON.parse(execFileSync("qemu-img", ["info", "--output=json", overlay]).toString()) as { "actual-size": number };
    expect(info["actual-size"]).toBeLessThan(4 * 1048576);
  });
});
