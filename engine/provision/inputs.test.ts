import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../test/tmp.js";
import { readKickstart } from "./inputs.js";

const refusal = (file: string) =>
  readKickstart(file).then(
    () => "read",
    (e: Error) => e.message,
  );

describe("readKickstart", () => {
  it("reads a kickstart, through a symlink too", async () => {
    const dir = tempDir("bce-ks-");
    writeFileSync(path.join(dir, "dev.ks"), "lang C\n");
    symlinkSync(path.join(dir, "dev.ks"), path.join(dir, "link.ks"));
    expect(await readKickstart(path.join(dir, "link.ks"))).toBe("lang C\n");
  });

  it("refuses what is not an ordinary file, without quoting what it holds", async () => {
    const dir = tempDir("bce-ks-");
    mkdirSync(path.join(dir, "d"));
    expect(await refusal(path.join(dir, "d"))).toMatch(/d is not a regular file$/);
    expect(await refusal("/dev/null")).toBe("kickstart /dev/null is not a regular file");
    // stat calls /proc files regular, with size 0; this one holds our environment.
    process.env.BOOTC_TEST_SECRET = "lang-C-secret";
    const environ = await refusal("/proc/self/environ");
    expect(environ).toMatch(/^kickstart \/proc\/self\/environ is not an ordinary file/);
    expect(environ).not.toContain("secret");
    writeFileSync(path.join(dir, "bin.ks"), Buffer.from("lang C\0\x7fELF"));
    expect(await refusal(path.join(dir, "bin.ks"))).toMatch(/bin\.ks is not a text file$/);
  });

  it("never quotes the first line of a file that is not a kickstart", async () => {
    const dir = tempDir("bce-ks-");
    writeFileSync(path.join(dir, "shadow"), "root:$6$SECRETSALT$SECRETHASH:19700:0:99999:7:::\n");
    expect(await refusal(path.join(dir, "shadow"))).toBe("shadow line 1: this is not a kickstart command");
  });
});
