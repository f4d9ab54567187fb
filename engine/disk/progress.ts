/**
 * Progress of a base-disk build, reported as engine events (CLI bar, server stream).
 * `bytes` never passes `totalBytes`: the total starts as an estimate and grows with the
 * writes (filesystem metadata comes on top of the content), and is exact at the end.
 */
export interface DiskProgress {
  step: string;
  bytes?: number;
  totalBytes?: number;
}

/** The total to report: the estimate, or what was written if that is more already. */
export const progressTotal = (estimate: number, written: number) => Math.max(estimate, written);
