import { describe, expect, it } from "vitest";
import { tempDir } from "../../test/tmp.js";
import type { BootReport } from "./report.js";
import { KEPT_BOOTS, readReports, removeReports, saveReport } from "./store.js";

const report = (bootId: string, o: Partial<BootReport> = {}): BootReport => ({
  version: 1,
  vm: "v1",
  vmCreatedAt: "c1",
  bootId,
  image: "localhost/x",
  imageId: "i",
  phases: [],
  totalSeconds: 1,
  units: [],
  criticalChain: [],
  unitsFrom: "none",
  madeAt: "t",
  ...o,
});

describe("the boot report store", () => {
  const root = tempDir("bce-insight-");
  const paths = { state: `${root}/state`, cache: `${root}/cache`, runtime: `${root}/run` };

  it("keeps the last few boots in order, one report per boot, concurrent saves included", async () => {
    await Promise.all(Array.from({ length: KEPT_BOOTS + 2 }, (_, i) => saveReport(paths, report(`2026-01-0${i + 1}`))));
    await saveReport(paths, report("2026-01-07", { totalSeconds: 9 }));
    const kept = await readReports(paths, "v1", "c1");
    expect(kept.map((r) => r.bootId)).toEqual(["2026-01-03", "2026-01-04", "2026-01-05", "2026-01-06", "2026-01-07"]);
    expect(kept.at(-1)!.totalSeconds).toBe(9);
  });

  it("never lets an unfinished report of a boot replace its finished one; a later unfinished one replaces an unfinished one", async () => {
    await saveReport(paths, report("2026-02-01", { vm: "v2", partial: true, note: "first" }));
    await saveReport(paths, report("2026-02-01", { vm: "v2", partial: true, note: "second" }));
    expect((await readReports(paths, "v2", "c1")).map((r) => r.note)).toEqual(["second"]);
    await saveReport(paths, report("2026-02-01", { vm: "v2", unitsFrom: "systemd-analyze" }));
    await saveReport(paths, report("2026-02-01", { vm: "v2", partial: true, note: "late and unfinished" }));
    expect(await readReports(paths, "v2", "c1")).toMatchObject([{ unitsFrom: "systemd-analyze" }]);
    expect((await readReports(paths, "v2", "c1"))[0]!.partial).toBeUndefined();
  });

  it("never returns another VM's that had the same name, and goes with the VM", async () => {
    expect(await readReports(paths, "v1", "c2")).toEqual([]);
    await removeReports(paths, "v1");
    expect(await readReports(paths, "v1", "c1")).toEqual([]);
  });
});
