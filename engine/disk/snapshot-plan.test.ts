import { describe, expect, it } from "vitest";
import { isBootcError } from "../core/errors.js";
import {
  checkSnapshotSpace,
  checkSnapshotTag,
  infoArgs,
  overlayImage,
  parseSnapshots,
  snapshotArgs,
  snapshotJob,
  snapshotSpaceNeeded,
} from "./snapshot-plan.js";

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return isBootcError(e) ? `${e.code}: ${e.message}` : String(e);
  }
  return "ok";
};

describe("snapshot tags", () => {
  it("takes plain names and refuses odd characters in one sentence", () => {
    for (const ok of ["live", "cold.1", "before_upgrade-2", "A", "x".repeat(63)]) expect(checkSnapshotTag(ok)).toBe(ok);
    for (const bad of ["", "-x", ".hidden", "a/b", "a b", "t,x=1", "é", "x".repeat(64), "a\nb", "1;rm"])
      expect(code(() => checkSnapshotTag(bad))).toMatch(/^INVALID_ARGUMENT: .* is not a valid snapshot tag$/);
  });
});

describe("qemu-img arguments", () => {
  it("open the overlay alone: a json: filename with no backing, never a path qemu-img reads a header chain from", () => {
    const img = overlayImage("/s/vms/a,b/disk.qcow2");
    expect(JSON.parse(img.slice("json:".length))).toEqual({ driver: "qcow2", backing: null, file: { driver: "file", filename: "/s/vms/a,b/disk.qcow2" } });
    expect(infoArgs("/d.qcow2")).toEqual(["info", "-U", "--output=json", overlayImage("/d.qcow2")]);
    expect(snapshotArgs("create", "t1", "/d.qcow2")).toEqual(["snapshot", "-c", "t1", overlayImage("/d.qcow2")]);
    expect(snapshotArgs("apply", "t1", "/d.qcow2")[1]).toBe("-a");
    expect(snapshotArgs("delete", "t1", "/d.qcow2")[1]).toBe("-d");
    expect(code(() => snapshotArgs("create", "-l", "/d.qcow2"))).toMatch(/not a valid snapshot tag/);
  });
});

describe("QMP snapshot jobs", () => {
  it("name the overlay node alone (the raw UEFI vars file cannot hold a snapshot) and put the memory there", () => {
    expect(snapshotJob("save", "live", "j1")).toEqual({
      execute: "snapshot-save",
      arguments: { "job-id": "j1", tag: "live", devices: ["disk0"], vmstate: "disk0" },
    });
    expect(snapshotJob("load", "live", "j2").execute).toBe("snapshot-load");
    expect(snapshotJob("delete", "live", "j3")).toEqual({ execute: "snapshot-delete", arguments: { "job-id": "j3", tag: "live", devices: ["disk0"] } });
  });
});

describe("parseSnapshots", () => {
  it("reads qemu-img info: memory or not from vm-state-size, oldest first", () => {
    const info = {
      snapshots: [
        { name: "b", "date-sec": 1796350808, "date-nsec": 500_000_000, "vm-state-size": 0, "vm-clock-sec": 0 },
        { name: "a", "date-sec": 1796350806, "date-nsec": 0, "vm-state-size": 32868649, "vm-clock-sec": 95 },
      ],
    };
    expect(parseSnapshots(info)).toEqual([
      { tag: "a", createdAt: new Date(1796350806000).toISOString(), memory: true, vmStateBytes: 32868649, guestClockSec: 95 },
      { tag: "b", createdAt: new Date(1796350808500).toISOString(), memory: false, vmStateBytes: 0, guestClockSec: 0 },
    ]);
    expect(parseSnapshots({ format: "qcow2" })).toEqual([]);
    expect(parseSnapshots(null)).toEqual([]);
  });
});

describe("space", () => {
  it("a memory snapshot needs the guest's memory free; too little is refused before anything is written", () => {
    expect(snapshotSpaceNeeded(true, 1024)).toBe(1024 * 1024 ** 2 + 64 * 1024 ** 2);
    expect(snapshotSpaceNeeded(false, 1024)).toBe(64 * 1024 ** 2);
    expect(code(() => checkSnapshotSpace("vm1", 10 * 1024 ** 3, snapshotSpaceNeeded(true, 1024)))).toBe("ok");
    expect(code(() => checkSnapshotSpace("vm1", 100 * 1024 ** 2, snapshotSpaceNeeded(true, 1024)))).toMatch(
      /^NO_SPACE: a snapshot of VM "vm1" needs about 1.06 GiB free next to its disk, and only 0.10 GiB is free$/,
    );
  });
});
