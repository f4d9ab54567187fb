import { describe, expect, it } from "vitest";
import { vmPaths } from "./paths.js";
import { DEFAULT_DISK_SIZE, fuseOptionValue, parseRunOptions, qemuOptionValue, RunOptionsSchema, validateName } from "./schema.js";
import { runOptionFacts } from "./option-facts.js";
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

  it("holds each option's limits and default, so that every caller gets them", () => {
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ cpus: 0 }, /^invalid cpus: use 1–64 vCPUs$/],
      [{ cpus: 65 }, /^invalid cpus: use 1–64 vCPUs$/],
      [{ memoryMiB: 255 }, /^invalid memoryMiB: use 256 MiB to 1 TiB$/],
      [{ readyTimeoutSec: 5 }, /^invalid readyTimeoutSec: wait 10 s to 24 h$/],
      [{ diskSizeBytes: 1024 }, /^invalid diskSizeBytes: disk sizes start at 64M$/],
      [{ accel: "xen" }, /^invalid accel: /],
      [{ kargs: Array(33).fill("quiet") }, /^invalid kargs: at most 32 kernel arguments$/],
      // Host paths are the caller's to resolve: a relative one would mean the server's directory.
      [{ identity: "id_ed25519" }, /^invalid identity: must be an absolute path$/],
      [{ disk: "disk.qcow2" }, /^invalid disk: must be an absolute path$/],
      [{ binds: [{ host: "src", guest: "/mnt", readOnly: false }] }, /^invalid binds\.0\.host: must be an absolute path$/],
    ];
    for (const [input, message] of bad) expect(() => parseRunOptions({ image: "i", ...input }), JSON.stringify(input)).toThrow(message);
    expect(parseRunOptions({ image: "i" })).toMatchObject({ cpus: 2, memoryMiB: 2048, readyTimeoutSec: 600, user: "root", pull: "missing" });
    // "" is bootc's own runtime, said explicitly (left out, the CLI and the server pick a default).
    expect(parseRunOptions({ image: "i", connect: "" }).connect).toBe("");
  });

  it("gives every option a help text, and says its default, limits and values as data", () => {
    const facts = runOptionFacts();
    expect(Object.keys(facts)).toEqual(Object.keys(RunOptionsSchema.shape));
    for (const [key, f] of Object.entries(facts)) expect(f.help, key).toMatch(/^[a-z].{10,}[^.]$/);
    // Each default is the one parsing fills in; the disk size's is what an image's disk gets.
    const parsed: Record<string, unknown> = RunOptionsSchema.parse({});
    for (const [key, f] of Object.entries(facts)) if (key !== "diskSizeBytes") expect(f.default, key).toEqual(parsed[key]);
    expect(facts.diskSizeBytes).toMatchObject({ default: DEFAULT_DISK_SIZE, min: 64 * 1024 ** 2, max: 16 * 1024 ** 4, type: "integer" });
    expect(facts.cpus).toMatchObject({ default: 2, min: 1, max: 64, type: "integer" });
    expect(facts.memoryMiB).toMatchObject({ default: 2048, min: 256, max: 1024 * 1024 });
    expect(facts.pull).toMatchObject({ default: "missing", values: ["missing", "always", "never"] });
    expect(facts.binds).toMatchObject({ type: "array", maxItems: 16, default: [] });
    expect(facts.cloudInit.fields?.transport).toMatchObject({ default: "cdrom", values: ["cdrom", "imds"] });
    expect(facts.name.min).toBeUndefined(); // no limit is made up where the schema has none
  });

  it("escapes values that go into other programs' option strings", () => {
    expect(qemuOptionValue("/tmp/a,b/disk.qcow2")).toBe("/tmp/a,,b/disk.qcow2");
    expect(fuseOptionValue("/srv/a,b\\c")).toBe("/srv/a\\,b\\\\c");
    const c = virtiofsdCommand({ binary: "/usr/lib/qemu/virtiofsd", flavour: "c", socket: "/r/fs1.sock", source: "/home/u/a,cache=none", readOnly: false });
    expect(c.args).toContain("source=/home/u/a\\,cache=none");
  });
});
