/** The CLI's progress lines: a base-disk build (see engine/disk/progress.ts) and an image pull. */
import type { DiskProgress } from "../../engine/disk/progress.js";
import type { PullProgress } from "../../engine/images/pull.js";

/** "writing the root filesystem [########            ] 41% (150/363 MiB)" */
export function formatProgress(p: DiskProgress): string {
  if (p.bytes === undefined || !p.totalBytes) return p.step;
  const mib = (n: number) => Math.round(n / (1024 * 1024));
  const pct = Math.min(100, Math.round((p.bytes / p.totalBytes) * 100));
  const filled = Math.round(pct / 5);
  return `${p.step} [${"#".repeat(filled)}${" ".repeat(20 - filled)}] ${pct}% (${mib(p.bytes)}/${mib(p.totalBytes)} MiB)`;
}

/** "2/3 layers [#########           ] 46% (92/200 MiB)"; without byte counts, the layers alone. */
export function formatPullProgress(p: PullProgress): string {
  return formatProgress({ step: `${p.layersDone}/${p.layers} layers`, bytes: p.totalBytes ? p.bytes : undefined, totalBytes: p.totalBytes });
}
