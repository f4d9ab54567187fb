/** Progress of a base-disk build, reported as engine events (CLI bar, server stream). */
export interface DiskProgress {
  step: string;
  bytes?: number;
  totalBytes?: number;
}

/** "writing the root filesystem 41% (150/363 MiB)" */
export function formatProgress(p: DiskProgress): string {
  if (p.bytes === undefined || !p.totalBytes) return p.step;
  const mib = (n: number) => Math.round(n / (1024 * 1024));
  const pct = Math.min(100, Math.round((p.bytes / p.totalBytes) * 100));
  return `${p.step} ${pct}% (${mib(p.bytes)}/${mib(p.totalBytes)} MiB)`;
}
