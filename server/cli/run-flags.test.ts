import { parseArgs } from "node:util";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runOptionFacts } from "../../engine/core/option-facts.js";
import { RunOptionsSchema } from "../../engine/core/schema.js";
import { formatOptions, RUN_FLAGS, runFlagOptions, runFlagRows, runOptionsFromFlags, type Flag, type FlagValues, type RunOptionKey } from "./run-flags.js";

const parse = (args: string[]) => runOptionsFromFlags(parseArgs({ args, options: runFlagOptions(), strict: true }).values as FlagValues);
const flags = Object.entries(RUN_FLAGS).filter((e): e is [RunOptionKey, Flag] => e[1] !== "positional");

/** For each run option, command-line words and the value they must give; one per option. */
const SAMPLES: { [K in RunOptionKey]?: [string[], unknown] } = {
  pull: [["--pull", "never"], "never"],
  podman: [["--connection", "machine-1"], { connection: "machine-1" }],
  name: [["--name", "web-1"], "web-1"],
  replace: [["--replace"], true],
  allowHostLoopback: [["--allow-host-loopback"], true],
  cpus: [["--cpus", "4"], 4],
  memoryMiB: [["--memory", "3G"], 3072],
  forwards: [
    ["-p", "8080:80", "--publish", "2222:22"],
    [
      { host: 8080, guest: 80 },
      { host: 2222, guest: 22 },
    ],
  ],
  binds: [["--bind", "src:/mnt/src:ro"], [{ host: path.resolve("src"), guest: "/mnt/src", readOnly: true }]],
  kargs: [
    ["--karg", "quiet", "--karg", "console=ttyS0"],
    ["quiet", "console=ttyS0"],
  ],
  user: [["-u", "dev"], "dev"],
  identity: [["--ssh-identity", "keys/id"], path.resolve("keys/id")],
  injectUserKey: [["--inj-ssh-identity"], true],
  password: [["--password=s3cret"], "s3cret"],
  autologin: [["--autologin"], true],
  kickstart: [["--ks", "dev.ks"], path.resolve("dev.ks")],
  cloudInit: [["--cloudinit", "imds:seed"], { transport: "imds", dir: path.resolve("seed") }],
  credentialTransport: [["--credentials-via", "fw_cfg"], "fw_cfg"],
  accel: [["--accel", "tcg"], "tcg"],
  arch: [["--arch", "arm64"], "arm64"],
  readyTimeoutSec: [["--timeout", "120"], 120],
  mode: [["--mode", "disk"], "disk"],
  builder: [["--builder", "direct"], "direct"],
  diskSizeBytes: [["--disk-size", "20G"], 20 * 1024 ** 3],
  filesystem: [["--filesystem", "xfs"], "xfs"],
  disk: [["--disk", "vm.qcow2"], path.resolve("vm.qcow2")],
  connect: [["--connect", "qemu:///system"], "qemu:///system"],
  autostart: [["--autostart"], true],
  removeOnStop: [["--rm"], true],
  warm: [["--warm"], true],
  removeImageOnStop: [["--rmi"], true],
};

describe("bootc run's flags, made from the engine's schema", () => {
  it("has a flag for every schema option (the image is the positional argument), and none for another", () => {
    expect(Object.keys(RUN_FLAGS).sort()).toEqual(Object.keys(RunOptionsSchema.shape).sort());
    expect(RUN_FLAGS.image).toBe("positional");
    const names = flags.flatMap(([, f]) => [f.flag, ...(f.also ?? []).map((a) => a.flag)]);
    expect(new Set(names).size).toBe(names.length);
    const shorts = flags.flatMap(([, f]) => (f.short ? [f.short] : []));
    expect(new Set(shorts).size).toBe(shorts.length);
  });

  it("gives each option the parser type of its schema: booleans take no value, lists repeat", () => {
    const options = runFlagOptions();
    const facts = runOptionFacts();
    for (const [key, f] of flags) {
      expect(options[f.flag]?.type, f.flag).toBe(facts[key].type === "boolean" ? "boolean" : "string");
      expect(!!options[f.flag]?.multiple, f.flag).toBe(facts[key].type === "array");
    }
  });

  it("turns each flag's words into the value the schema takes", () => {
    for (const [key] of flags) {
      const sample = SAMPLES[key];
      expect(sample, `a sample for --${(RUN_FLAGS[key] as Flag).flag}`).toBeDefined();
      const [args, value] = sample!;
      const options = parse(args);
      expect(options, args.join(" ")).toEqual({ [key]: value });
      expect(RunOptionsSchema.shape[key].safeParse(options[key]).success, args.join(" ")).toBe(true);
    }
    expect(parse([])).toEqual({});
  });

  it("names the flag in an error, with the schema's rule", () => {
    const refused: Array<[string[], RegExp]> = [
      [["--cpus", "0"], /^--cpus 0 is out of range$/],
      [["--memory", "64M"], /^--memory 64M is out of range$/],
      [["--timeout", "100000"], /^--timeout 100000 is out of range$/],
      [["--cpus", "two"], /^--cpus "two" is not a whole number$/],
      [["--pull", "sometimes"], /^--pull "sometimes" is not one of missing, always, never$/],
      [["--accel", "xen"], /^--accel "xen" is not one of kvm, hvf, tcg$/],
      [["--arch", "ppc64le"], /^--arch "ppc64le" is not one of amd64, arm64, x86_64, aarch64$/],
      [["-u", "Root"], /^invalid --user "Root": not a user name/],
      [["--name", "Bad Name"], /^"Bad Name" is not a valid VM name$/],
      [["--karg", "a b"], /^invalid --karg "a b": one kernel argument/],
      [["-p", "99999:80"], /port 99999 in -p "99999:80" is out of range/],
    ];
    for (const [args, message] of refused) expect(() => parse(args), args.join(" ")).toThrow(message);
    const hint = (() => {
      try {
        parse(["--cpus", "65"]);
      } catch (e) {
        return (e as { hint?: string }).hint;
      }
    })();
    expect(hint).toBe("use 1–64 vCPUs");
  });

  it("writes a --help line for every flag but the hidden ones, with the schema's help and default", () => {
    const help = formatOptions(runFlagRows());
    const facts = runOptionFacts();
    for (const [key, f] of flags) {
      const line = new RegExp(`^  (-${f.short}, )?--${f.flag}\\b`, "m");
      if (f.hidden) expect(help, f.flag).not.toMatch(line);
      else expect(help.replace(/\n +/g, " "), f.flag).toContain(facts[key].help);
    }
    expect(help).toMatch(/--cpus N +virtual CPUs \(default 2\)/);
    expect(help).toMatch(/--memory SIZE +the guest's memory; e\.g\. 2G or 1536M \(default 2G\)/);
    expect(help.replace(/\n +/g, " ")).toMatch(/--disk-size SIZE .*\(default 10G\)/);
    expect(help).toMatch(/^ {2}--pull missing\|always\|never$/m);
    expect(help).toMatch(/^ {2}--mode ephemeral\|disk /m);
    for (const line of help.split("\n")) expect(line.length, line).toBeLessThanOrEqual(90);
  });
});

describe("which podman has the image", () => {
  it("is --connection, else -r, else CONTAINER_HOST with CONTAINER_SSHKEY, else the local one", async () => {
    const { podmanFromFlags } = await import("./podman-flags.js");
    const env = { CONTAINER_HOST: "ssh://u@127.0.0.1:2222/run/user/1002/podman/podman.sock", CONTAINER_SSHKEY: "/k/id" };
    expect(podmanFromFlags({ connection: "m" }, false, env)).toEqual({ connection: "m" });
    expect(podmanFromFlags(undefined, true, env)).toEqual({ remote: true });
    expect(podmanFromFlags(undefined, false, env)).toEqual({ url: env.CONTAINER_HOST, identity: "/k/id" });
    expect(podmanFromFlags(undefined, false, {})).toBeUndefined();
    expect(() => podmanFromFlags({ connection: "m" }, true, {})).toThrow(/not both/);
  });

  it("refuses a --connection name podman would read as a flag", () => {
    expect(() => runOptionsFromFlags({ connection: "--url=x" })).toThrow(/invalid --connection/);
  });
});
