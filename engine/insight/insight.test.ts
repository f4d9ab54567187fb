import { describe, expect, it } from "vitest";
import { tempDir } from "../../test/tmp.js";
import type { VmInfo } from "../core/vm.js";
import { bootIdOf, endingBootReport } from "./insight.js";
import { readReports, saveReport } from "./store.js";

describe("bootIdOf", () => {
  it("tells a soft reboot's boot from the boot before it: its switch starts a new boot", () => {
    const cold = [
      { event: "created", at: "2026-12-03T18:00:00.000Z" },
      { event: "ssh-ready", at: "2026-12-03T18:02:00.000Z" },
    ];
    const soft = [
      { event: "build-started", at: "2026-12-03T18:10:00.000Z" },
      { event: "build-finished", at: "2026-12-03T18:10:20.000Z" },
      { event: "soft-reboot", at: "2026-12-03T18:10:25.000Z" },
    ];
    expect(bootIdOf({ timeline: cold })).toBe("2026-12-03T18:00:00.000Z");
    expect(bootIdOf({ timeline: soft })).toBe("2026-12-03T18:10:25.000Z");
    expect(bootIdOf({ timeline: [] })).toBeUndefined();
  });
});

describe("endingBootReport: the report of a boot a rebuild or restart replaces", () => {
  const root = tempDir("bce-ending-");
  const paths = { state: `${root}/state`, cache: `${root}/cache`, runtime: `${root}/run` };
  const vm = (o: Partial<VmInfo> = {}) =>
    ({
      name: "v",
      createdAt: "2026-12-06T00:00:00.000Z",
      image: "localhost/x",
      imageId: "i",
      effectiveState: "ssh-ready",
      sshPort: 2222,
      timeline: [
        { event: "created", at: "2026-12-06T00:00:00.000Z" },
        { event: "ssh-ready", at: "2026-12-06T00:00:30.000Z" },
      ],
      ...o,
    }) as VmInfo;
  // A guest that never answers: the report is made only once the asking is abandoned.
  const silent = () => new Promise<never>(() => undefined);

  it("abandoned, says why and keeps the host's phases; nothing is saved until the caller keeps it", async () => {
    const ac = new AbortController();
    const asked: string[] = [];
    const pending = endingBootReport(
      paths,
      vm(),
      async () => {
        asked.push("target");
        // The target itself comes at once; askGuest would then connect. Abandon before it could.
        ac.abort();
        return { vmName: "v", port: 1, user: "root", identity: "/nonexistent", knownHosts: "/nonexistent" };
      },
      ac.signal,
    );
    const report = await pending;
    expect(asked).toEqual(["target"]);
    expect(report).toMatchObject({ partial: true, unitsFrom: "none", note: "the guest's units were not read: the boot was replaced first" });
    expect(report.phases.length).toBeGreaterThan(0);
    expect(await readReports(paths, "v", "2026-12-06T00:00:00.000Z")).toEqual([]);
  });

  it("of a boot that never answered SSH, says so without asking", async () => {
    const report = await endingBootReport(paths, vm({ effectiveState: "running" }), silent);
    expect(report).toMatchObject({ partial: true, note: "the boot was replaced before its guest answered SSH, so its units are not known" });
  });

  it("a finished report kept before is returned as it is, without asking", async () => {
    const finished = {
      ...(await endingBootReport(paths, vm({ effectiveState: "running" }), silent)),
      partial: undefined,
      unitsFrom: "systemd-analyze" as const,
      note: undefined,
    };
    await saveReport(paths, finished);
    expect(await endingBootReport(paths, vm(), silent)).toMatchObject({ unitsFrom: "systemd-analyze" });
  });
});
