import path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../test/tmp.js";
import { FakeRuntime } from "../../test/fake-runtime.js";
import type { VmRecord } from "../core/record.js";
import { Engine } from "./manager.js";
import { Runtimes } from "./runtimes.js";

const record = (name: string): VmRecord => ({
  version: 1,
  name,
  image: "localhost/x",
  imageId: "1".repeat(64),
  mode: "disk",
  createdAt: "",
  cpus: 1,
  memoryMiB: 512,
  accel: "tcg",
  accelReason: "",
  sshUser: "root",
  identity: "/dev/null",
  generatedKey: false,
  forwards: [],
  binds: [],
  kargs: [],
  removeOnStop: false,
  readyTimeoutSec: 60,
  state: "ssh-ready",
  warnings: [],
  timeline: [],
});

function engineWith(): { engine: Engine; local: FakeRuntime & { names(): Promise<string[]> }; connected: FakeRuntime } {
  const local = Object.assign(new FakeRuntime("local"), { names: async () => [...local.vms.keys()] });
  const connected = new FakeRuntime("connected");
  local.vms.set("mine", record("mine"));
  connected.vms.set("theirs", record("theirs"));
  const root = tempDir("bce-facade-");
  const paths = { state: path.join(root, "state"), cache: path.join(root, "cache"), runtime: path.join(root, "run") };
  return { engine: new Engine(paths, { runtimes: new Runtimes(local, connected) }), local, connected };
}

describe("the Engine facade", () => {
  it("hands each verb to the runtime that owns the VM, and only to it", async () => {
    const { engine, local, connected } = engineWith();
    expect((await engine.sshCommand("theirs", ["uname"])).args).toEqual(["connected:theirs"]);
    expect((await engine.sshCommand("mine")).args).toEqual(["local:mine"]);
    await engine.stopVm("theirs");
    expect((await engine.getVm("theirs")).effectiveState).toBe("stopped");
    expect((await engine.getVm("mine")).effectiveState).toBe("ssh-ready");
    await engine.removeVm("theirs", { force: true });
    expect(connected.vms.has("theirs")).toBe(false);
    expect(local.calls).not.toContain("theirs");
    expect(connected.calls).not.toContain("mine");
  });

  it("lists every runtime's VMs, and says when no runtime has a name", async () => {
    const { engine } = engineWith();
    expect((await engine.listVms()).map((v) => v.name).sort()).toEqual(["mine", "theirs"]);
    await expect(engine.getVm("nobody")).rejects.toMatchObject({ code: "VM_NOT_FOUND" });
    await expect(engine.getVm("../etc")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});

describe("the facade's boot reports", () => {
  const boot = (created: string, ready: string) => [
    { event: "created", at: created },
    { event: "qemu-started", at: new Date(Date.parse(created) + 1000).toISOString() },
    { event: "ssh-ready", at: ready },
    { event: "stopped", at: ready },
  ];

  it("keeps each boot's report, whichever runtime has the VM, and compares a boot with the one before", async () => {
    const { engine, connected } = engineWith();
    connected.vms.set("theirs", {
      ...record("theirs"),
      sshPort: 2222,
      state: "stopped",
      timeline: boot("2026-01-01T00:00:00.000Z", "2026-01-01T00:01:00.000Z"),
    });
    const first = await engine.bootReport("theirs");
    expect(first).toMatchObject({ vm: "theirs", totalSeconds: 60, unitsFrom: "none", note: "the VM stopped before its guest was asked about its units" });
    await expect(engine.compareBoots("theirs")).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: 'VM "theirs" has no earlier boot to compare with' });

    connected.vms.set("theirs", {
      ...record("theirs"),
      sshPort: 2222,
      state: "stopped",
      timeline: boot("2026-01-02T00:00:00.000Z", "2026-01-02T00:01:30.000Z"),
    });
    const { comparison } = await engine.compareBoots("theirs");
    expect(comparison.totalDelta).toBe(30);
    expect(comparison.phases).toEqual([{ name: "userspace to SSH", kind: "changed", before: 59, after: 89, delta: 30 }]);
    expect(comparison.unitsMissing).toBeDefined();

    await engine.removeVm("theirs", { force: true });
    connected.vms.set("theirs", {
      ...record("theirs"),
      sshPort: 2222,
      state: "stopped",
      timeline: boot("2026-01-03T00:00:00.000Z", "2026-01-03T00:01:00.000Z"),
    });
    await expect(engine.compareBoots("theirs")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});
