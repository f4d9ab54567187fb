/**
 * What changed between two boots: each phase and each unit that took a different time,
 * largest change first. Phases and units are ranked apart: a phase holds many units, so a
 * unit's own change would be lost under the phase that contains it. Among units, those new
 * in the later boot or gone from it come first: they are what the image changed, while a
 * unit both boots ran moves with the boot's pace, which under emulation on a busy host
 * wanders by seconds from one boot to the next.
 */
import type { BootReport } from "./report.js";

export interface Change {
  name: string;
  /** added: only the later boot ran it; removed: only the earlier one; changed: both, in a different time. */
  kind: "added" | "removed" | "changed";
  /** Seconds in the earlier boot; absent for a unit new in the later one. */
  before?: number;
  /** Seconds in the later boot; absent for a unit gone from it. */
  after?: number;
  /** after − before (a new unit counts from 0, a gone one to 0). */
  delta: number;
}

export interface BootComparison {
  before: { vm: string; bootId: string; imageId: string; totalSeconds: number };
  after: { vm: string; bootId: string; imageId: string; totalSeconds: number };
  totalDelta: number;
  phases: Change[];
  units: Change[];
  /** Only one of the two boots knows its guest's units: units are not compared. */
  unitsMissing?: string;
  /** A soft reboot compared with a full boot: what was left out of `units`, and why. */
  unitsNote?: string;
}

/** Changes smaller than this are timer noise even on a quiet host (blame prints milliseconds). */
const NOISE_SECONDS = 0.05;

const round3 = (n: number) => Math.round(n * 1000) / 1000;

function changes(before: Array<{ name: string; seconds: number }>, after: Array<{ name: string; seconds: number }>, addedFirst: boolean): Change[] {
  const was = new Map<string, number>();
  // A name twice (a phase split the same way twice) adds up.
  for (const x of before) was.set(x.name, (was.get(x.name) ?? 0) + x.seconds);
  const now = new Map<string, number>();
  for (const x of after) now.set(x.name, (now.get(x.name) ?? 0) + x.seconds);
  const names = [...new Set([...was.keys(), ...now.keys()])];
  return names
    .map((name) => {
      const b = was.get(name);
      const a = now.get(name);
      const kind = b === undefined ? "added" : a === undefined ? "removed" : "changed";
      return {
        name,
        kind,
        ...(b !== undefined ? { before: round3(b) } : {}),
        ...(a !== undefined ? { after: round3(a) } : {}),
        delta: round3((a ?? 0) - (b ?? 0)),
      } as Change;
    })
    .filter((c) => c.kind !== "changed" || Math.abs(c.delta) >= NOISE_SECONDS)
    .sort(
      (x, y) =>
        (addedFirst ? Number(x.kind === "changed") - Number(y.kind === "changed") : 0) || Math.abs(y.delta) - Math.abs(x.delta) || x.name.localeCompare(y.name),
    );
}

/** Compares `after` with `before` (the earlier boot, or another VM's). */
export function compareReports(before: BootReport, after: BootReport): BootComparison {
  const side = (r: BootReport) => ({ vm: r.vm, bootId: r.bootId, imageId: r.imageId, totalSeconds: r.totalSeconds });
  const bothUnits = before.unitsFrom !== "none" && after.unitsFrom !== "none";
  // A soft reboot restarts userspace only: devices and the initramfs's units run in a full
  // boot alone, so they are no change the image made. Units only the full boot ran are left out.
  const soft = (r: BootReport) => r.from === "soft-reboot";
  const mixed = soft(before) !== soft(after);
  const [softBoot, fullBoot] = soft(before) ? [before, after] : [after, before];
  const softNames = new Set(softBoot.units.map((u) => u.name));
  const fullOnly = new Set(mixed ? fullBoot.units.map((u) => u.name).filter((n) => !softNames.has(n)) : []);
  const units = bothUnits ? changes(before.units, after.units, true) : [];
  return {
    before: side(before),
    after: side(after),
    totalDelta: round3(after.totalSeconds - before.totalSeconds),
    phases: changes(before.phases, after.phases, false),
    units: mixed ? units.filter((c) => !fullOnly.has(c.name)) : units,
    ...(bothUnits ? {} : { unitsMissing: `the ${before.unitsFrom === "none" ? "earlier" : "later"} boot's guest units are not known` }),
    ...(bothUnits && mixed && fullOnly.size
      ? { unitsNote: `a soft reboot compared with a full boot: ${fullOnly.size} unit(s) only a full boot runs (devices, the initramfs's) are left out` }
      : {}),
  };
}
