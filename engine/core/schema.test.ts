import { describe, expect, it } from "vitest";
import { vmPaths } from "./paths.js";
import { fuseOptionValue, parseRunOptions, qemuOptionValue, validateName } from "./schema.js";
import { virtiofsdCommand } from "../host/virtiofsd.js";

const paths = { state: "/s", cache: "/c", runtime: "/r" };

describe("the engine's input rules", () => {
  it("refuses a VM name that would leave the state dir, wherever a path is made from it", () => {
    for (const bad of ["../../../tmp/x", "..", ".", "a/b", "", "UPPER", "x".repeat(41), "a\nb"]) {
      expect(() => validateName(bad), bad).toThrow(/is not a valid VM name/);
      expect(() => vmPaths(bad, paths), bad).toThrow(/is not a valid VM name/);
    }
    expect(vmPaths("web-1.a", paths).dir).toBe("/s/vms/web-1.a");
  });

  it("checks users, guest paths, kernel arguments and ports, each with one sentence", () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ image: "i", user: "root\nf /etc/shadow" }, /^invalid user: not a user name/],
      [{ image: "i", binds: [{ host: "/h", guest: "/mnt/a\nb", readOnly: false }] }, /^invalid binds\.0\.guest: must not contain control characters/],
      [{ image: "i", binds: [{ host: "/h", guest: "relative", readOnly: false }] }, /^invalid binds\.0\.guest: must be an absolute guest directory/],
      [{ image: "i", kargs: ["a b"] }, /^invalid kargs\.0: one kernel argument/],
      [{ image: "i", forwards: [{ host: 70000, guest: 80 }] }, /^invalid forwards\.0\.host: ports are 1–65535/],
      [{ image: "i", name: "../x" }, /^"\.\.\/x" is not a valid VM name$/],
      [{ image: "i", surprise: true }, /^invalid options: Unrecognized key/],
    ];
    for (const [input, message] of bad) expect(() => parseRunOptions(input), JSON.stringify(input)).toThrow(message);
    expect(parseRunOptions({ image: "i", binds: [{ host: "/h", guest: "/mnt/x/../y", readOnly: true }] }).binds[0]!.guest).toBe("/mnt/y");
  });

  it("escapes values that go into other programs' option strings", () => {
    expect(qemuOptionValue("/tmp/a,b/disk.qcow2")).toBe("/tmp/a,,b/disk.qcow2");
    expect(fuseOptionValue("/srv/a,b\\c")).toBe("/srv/a\\,b\\\\c");
    const c = virtiofsdCommand({ binary: "/usr/lib/qemu/virtiofsd", flavour: "c", socket: "/r/fs1.sock", source: "/home/u/a,cache=none", readOnly: false });
    expect(c.args).toContain("source=/home/u/a\\,cache=none");
  });
});
