import type { SeriesStats } from '@ffleet/core';

/** Summary of one per-frame series, as the quality record stores it (SeriesStatsSchema in core). */
export type { SeriesStats };

export type Frame = { n: number } & Record<string, number>;

/** Stats of every field (except the frame number `n`) over all frames; empty when there are none. */
export function globalStats(frames: readonly Frame[]): Record<string, SeriesStats> {
  const first = frames[0];
  if (!first) return {};
  const result: Record<string, SeriesStats> = {};
  for (const key of Object.keys(first)) {
    if (key === 'n') continue;
    const values = frames
      .map((f) => f[key])
      .filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    if (values.length > 0) result[key] = seriesStats(values);
  }
  return result;
}

export function seriesStats(values: readonly number[]): SeriesStats {
  const sorted = [...values].sort((a, b) => a - b);
  const count = sorted.length;
  const average = sorted.reduce((sum, v) => sum + v, 0) / count;
  const mid = Math.floor(count / 2);
  const median = count % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const variance = sorted.reduce((sum, v) => sum + (v - average) ** 2, 0) / count;
  return {
    average: round(average),
    median: round(median),
    stdev: round(Math.sqrt(variance)),
    min: sorted[0]!,
    max: sorted[count - 1]!,
  };
}

/** Six decimals: below what any of these metrics can resolve, and keeps the JSON readable. */
export function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
