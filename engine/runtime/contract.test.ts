import path from "node:path";
import { describe, it } from "vitest";
import { tempDir } from "../../test/tmp.js";
import { FakeRuntime } from "../../test/fake-runtime.js";
import { writeRecord, type VmRecord } from "../core/record.js";
import { mkdirSync } from "node:fs";
import { RUNTIME_CONTRACT } from "./contract.js";
import { DirectRuntime } from "./direct/vms.js";
import type { VmRuntime } from "./runtime.js";

const record = (name: string, state: VmRecord["state"]): VmRecord => ({
  version: 1,
  name,
  image: "localhost/x",
  imageId: "0".repeat(64),
  mode: "ephemeral",
  createdAt: new Date().toISOString(),
  cpus: 1,
  memoryMiB: 512,
  accel: "tcg",
  accelReason: "",
  sshUser: "root",
  sshPort: 2222,
  identity: "/dev/null",
  generatedKey: false,
  forwards: [],
  binds: [],
  kargs: [],
  removeOnStop: false,
  readyTimeoutSec: 60,
  state,
  warnings: [],
  timeline: [],
});

async function fake(): Promise<VmRuntime> {
  const rt = new FakeRuntime("fake");
  rt.vms.set("halted", record("halted", "stopped"));
  return rt;
}

/** bootc's own runtime over a state directory holding one stopped VM's record: no monitor, no boot. */
async function direct(): Promise<VmRuntime> {
  const root = tempDir("bce-contract-");
  const paths = { state: path.join(root, "state"), cache: path.join(root, "cache"), runtime: path.join(root, "run") };
  mkdirSync(path.join(paths.state, "vms", "halted"), { recursive: true, mode: 0o700 });
  await writeRecord(record("halted", "stopped"), paths);
  return new DirectRuntime(paths);
}

describe.each([
  ["the in-memory fake", fake],
  ["the direct runtime", direct],
])("the runtime contract: %s", (_label, make) => {
  it.each(RUNTIME_CONTRACT.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    await c.run(await make(), { unknown: "nosuchvm", stopped: "halted" });
  });
});
