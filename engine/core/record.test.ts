import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../test/tmp.js";
import type { EnginePaths } from "./paths.js";
import { newBoot, readRecord, writeRecord, type VmSpec } from "./record.js";

const home = tempDir("bce-record-");
const paths: EnginePaths = { state: path.join(home, "state"), cache: path.join(home, "cache"), runtime: path.join(home, "run") };
const spec: VmSpec = {
  version: 1,
  name: "web",
  image: "localhost/bootc-demo:latest",
  imageId: "0".repeat(64),
  mode: "ephemeral",
  createdAt: "2026-11-28T10:00:00.000Z",
  cpus: 2,
  memoryMiB: 2048,
  accel: "tcg",
  accelReason: "test",
  sshUser: "root",
  sshPort: 2222,
  identity: "/k",
  generatedKey: true,
  forwards: [{ host: 8080, guest: 80 }],
  binds: [],
  kargs: [],
  removeOnStop: false,
  readyTimeoutSec: 600,
};

function writeRaw(name: string, value: unknown) {
  mkdirSync(path.join(paths.state, "vms", name), { recursive: true });
  writeFileSync(path.join(paths.state, "vms", name, "vm.json"), JSON.stringify(value));
}

describe("VM records", () => {
  it("reads back what was written", async () => {
    mkdirSync(path.join(paths.state, "vms/web"), { recursive: true });
    const record = { ...newBoot(spec), state: "stopped" as const, exitCode: null };
    await writeRecord(record, paths);
    expect(await readRecord("web", paths)).toEqual(record);
  });

  // The record schema is zod/mini, which has no messages of its own: the reason a user reads is still English.
  it("says in words which field of a damaged record is wrong, and how", async () => {
    writeRaw("odd", { version: 1, name: "odd" });
    await expect(readRecord("odd", paths)).rejects.toThrow(
      /^the record of VM "odd" \(vm\.json\) is damaged: image invalid input: expected string, received undefined$/,
    );
    writeRaw("port", { ...newBoot({ ...spec, name: "port" }), forwards: [{ host: 0, guest: 80 }] });
    await expect(readRecord("port", paths)).rejects.toThrow(/is damaged: forwards\.0\.host too small: expected number to be >=1$/);
  });
});
