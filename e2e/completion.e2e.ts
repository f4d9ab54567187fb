/**
 * Shell completion as a user gets it: the script `bootc completion bash` prints, sourced in
 * a real bash, completing commands, a command's options and their values (read from its
 * --help) and VM names (from `bootc list`).
 */
import { mkdirSync, symlinkSync } from "node:fs";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { makeHome, ROOT, tempDir } from "./lib/harness.js";

const home = makeHome();
process.env.BOOTC_HOME = home;
const { enginePaths } = await import("../dist/engine/core/paths.js");
const { writeRecord } = await import("../dist/engine/core/record.js");
const bin = tempDir("bce-completion-bin-");
symlinkSync(path.join(ROOT, "bin/bootc"), path.join(bin, "bootc"));

/** What bash offers after the given words (the last one is being completed). */
async function complete(...words: string[]): Promise<string[]> {
  const script = `source <(bootc completion bash); COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _bootc; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = await execa("bash", ["-c", script], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, BOOTC_HOME: home } });
  return r.stdout.split("\n").filter(Boolean).sort();
}

/** What fish offers for the command line `line` (completing its last word). */
async function completeFish(line: string): Promise<string[]> {
  const r = await execa("fish", ["--no-config", "-c", `bootc completion fish | source; complete -C ${JSON.stringify(line)}`], {
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, BOOTC_HOME: home },
  });
  return r.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split("\t")[0]!)
    .sort();
}

describe("bootc completion bash", () => {
  it("completes commands, including podman-bootc's `boot`", async () => {
    expect(await complete("bootc", "st")).toEqual(["start", "stop"]);
    expect(await complete("bootc", "bo")).toEqual(["boot"]);
    expect(await complete("bootc", "se")).toEqual(["serve", "setup"]);
  });

  it("completes a command's options from its own --help", async () => {
    expect(await complete("bootc", "run", "--rep")).toEqual(["--replace"]);
    expect(await complete("bootc", "rm", "--a")).toEqual(["--all"]);
    expect(await complete("bootc", "setup", "--")).toEqual(["--check", "--dry-run"]);
  });

  it("completes an option's values, which --help lists from the engine's schema", async () => {
    expect(await complete("bootc", "run", "--mode", "")).toEqual(["disk", "ephemeral"]);
    expect(await complete("bootc", "run", "--pull", "n")).toEqual(["never"]);
    expect(await complete("bootc", "to-disk", "--builder", "d")).toEqual(["direct"]);
    expect(await complete("bootc", "test", "--pull", "")).toEqual(["always", "missing", "never"]);
  });

  it("completes VM names for the commands that take one", async () => {
    for (const name of ["alpha", "beta"]) {
      mkdirSync(path.join(home, "state/vms", name), { recursive: true });
      await writeRecord(
        {
          version: 1,
          name,
          image: "localhost/bootc-demo:latest",
          imageId: "0".repeat(64),
          mode: "ephemeral",
          createdAt: new Date().toISOString(),
          cpus: 1,
          memoryMiB: 512,
          accel: "tcg",
          accelReason: "test",
          sshUser: "root",
          identity: "/nonexistent",
          generatedKey: true,
          forwards: [],
          binds: [],
          kargs: [],
          removeOnStop: false,
          readyTimeoutSec: 60,
          state: "stopped",
          warnings: [],
          timeline: [],
        },
        enginePaths(),
      );
    }
    expect(await complete("bootc", "ssh", "")).toEqual(["alpha", "beta"]);
    expect(await complete("bootc", "rm", "al")).toEqual(["alpha"]);
  });
});

describe("bootc completion fish", () => {
  it("completes commands, options from --help, and VM names", async () => {
    expect(await completeFish("bootc st")).toEqual(["start", "stop"]);
    expect(await completeFish("bootc run --inj")).toEqual(["--inj-ssh-identity"]);
    expect(await completeFish("bootc ssh al")).toEqual(["alpha"]);
    expect(await completeFish("bootc run --accel ")).toEqual(["hvf", "kvm", "tcg"]);
    expect(await completeFish("bootc run --filesystem x")).toEqual(["xfs"]);
  });
});
