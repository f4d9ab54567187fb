/** Progress of a base-disk build, reported as engine events (CLI bar, server stream). */
export interface DiskProgress {
  step: string;
  bytes?: number;
  totalBytes?: number;
}

/** "writing the root filesystem [########            ] 41% (150/363 MiB)" */
export function formatProgress(p: DiskProgress): string {
  if (p.bytes === undefined || !p.totalBytes) return p.step;
  const mib = (n: number) => Math.round(n / (1024 * 1024));
  // Bytes written can pass the estimate (filesystem metadata): the bar stops at full.
  const pct = Math.min(100, Math.round((p.bytes / p.totalBytes) * 100));
  const filled = Math.round(pct / 5);
  return `${p.step} [${"#".repeat(filled)}${" ".repeat(20 - filled)}] ${pct}% (${mib(p.bytes)}/${mib(p.totalBytes)} MiB)`;
}
