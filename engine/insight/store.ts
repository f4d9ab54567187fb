/**
 * Where boot reports are kept: one file per VM (core/paths.ts bootReportsFile) holding its
 * last few boots, oldest first, written whole (temp file, then rename). A report of another
 * VM that had the same name (removed and made again) is never returned.
 */
import { mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import * as z from "zod";
import { bootReportsFile, type EnginePaths } from "../core/paths.js";
import { writePrivateFile } from "../core/private-file.js";
import { BootReportSchema, type BootReport } from "./report.js";

/** Enough for a few rebuilds back; the comparison needs only the last two. */
export const KEPT_BOOTS = 5;

const FileSchema = z.object({ reports: z.array(BootReportSchema) });

/** Saves are queued per process: two made at once (a rebuild, and a page asking) must not drop one. */
let queue: Promise<unknown> = Promise.resolve();

async function readAll(paths: EnginePaths, name: string): Promise<BootReport[]> {
  const text = await readFile(bootReportsFile(paths, name), "utf8").catch(() => undefined);
  if (text === undefined) return [];
  try {
    return FileSchema.parse(JSON.parse(text)).reports;
  } catch {
    // A file of an older layout, or damaged: it only costs the comparison with earlier boots.
    return [];
  }
}

/** The VM's kept reports, oldest first (only those of the VM made at `vmCreatedAt`). */
export async function readReports(paths: EnginePaths, name: string, vmCreatedAt: string): Promise<BootReport[]> {
  return (await readAll(paths, name)).filter((r) => r.vmCreatedAt === vmCreatedAt);
}

/**
 * Keeps `report`, replacing an earlier one of the same boot unless that one is finished and
 * this one is not (two askers at once: a page waiting for the boot to finish, a rebuild that
 * did not), and drops the oldest past KEPT_BOOTS.
 */
export function saveReport(paths: EnginePaths, report: BootReport): Promise<void> {
  const save = async () => {
    const all = await readReports(paths, report.vm, report.vmCreatedAt);
    if (report.partial && all.some((r) => r.bootId === report.bootId && !r.partial)) return;
    const kept = all.filter((r) => r.bootId !== report.bootId);
    const reports = [...kept, report].sort((a, b) => a.bootId.localeCompare(b.bootId)).slice(-KEPT_BOOTS);
    const file = bootReportsFile(paths, report.vm);
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writePrivateFile(file, JSON.stringify({ reports }, null, 1) + "\n");
  };
  const done = queue.then(save, save);
  queue = done.catch(() => undefined);
  return done;
}

export async function removeReports(paths: EnginePaths, name: string): Promise<void> {
  await rm(bootReportsFile(paths, name), { force: true });
}
