import type { PriceTable } from './prices.ts';
import type { JobRow, RungRow, StageName } from './records.ts';
import { STAGES } from './records.ts';

export const DIMENSIONS = ['pool', 'instance-type', 'job-name'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

export interface StageStats {
  median: number;
  p95: number;
}

/** One line of the report: the jobs of one pool, instance type or job name. */
export interface GroupSummary {
  dimension: Dimension;
  group: string;
  jobs: number;
  failed: number;
  /** Seconds, over succeeded jobs that recorded the stage. */
  stages: Partial<Record<StageName, StageStats>>;
  /** Mean ffmpeg speed (x real time). */
  speed?: number;
  psnr?: number;
  ssim?: number;
  vmaf?: number;
  outputMinutes: number;
  /** Spot cost of the instance-time jobs took (start to finish), per minute of output media. */
  costPerOutputMinute?: number;
}

const keyOf: Record<Dimension, (row: JobRow) => string> = {
  pool: (row) => row.pool,
  'instance-type': (row) => row.instanceType,
  'job-name': (row) => row.jobName,
};

export function summarise(rows: readonly JobRow[], dimension: Dimension, prices: PriceTable): GroupSummary[] {
  const groups = new Map<string, JobRow[]>();
  for (const row of rows) {
    const key = keyOf[dimension](row);
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([group, members]) => summariseGroup(dimension, group, members, prices));
}

function summariseGroup(
  dimension: Dimension,
  group: string,
  rows: JobRow[],
  prices: PriceTable,
): GroupSummary {
  const ok = rows.filter((row) => row.state === 'succeeded');
  const stages: GroupSummary['stages'] = {};
  for (const stage of STAGES) {
    const values = defined(ok.map((row) => row.stages[stage]));
    if (values.length > 0) stages[stage] = { median: percentile(values, 50), p95: percentile(values, 95) };
  }
  let cost = 0;
  let pricedMinutes = 0;
  let outputMinutes = 0;
  for (const row of ok) {
    const minutes = (row.mediaDurationSeconds ?? 0) / 60;
    outputMinutes += minutes;
    const price = prices.prices[row.instanceType];
    const seconds =
      row.stages.total ??
      sum(defined([row.stages.download, row.stages.ffmpeg, row.stages.upload, row.stages.quality]));
    if (price === undefined || minutes <= 0) continue;
    cost += (price * seconds) / 3600;
    pricedMinutes += minutes;
  }
  return {
    dimension,
    group,
    jobs: rows.length,
    failed: rows.length - ok.length,
    stages,
    speed: mean(defined(ok.map((row) => row.speed))),
    psnr: mean(defined(ok.map((row) => row.psnr))),
    ssim: mean(defined(ok.map((row) => row.ssim))),
    vmaf: mean(defined(ok.map((row) => row.vmaf))),
    outputMinutes,
    costPerOutputMinute: pricedMinutes > 0 ? cost / pricedMinutes : undefined,
  };
}

/** One rung of the ladders in the report: how it scored across the jobs that made it. */
export interface RungSummary {
  /** The rung's name (`720p-3000k`; `-hdr` for the HDR twin of a ladder that made both). */
  rung: string;
  height: number;
  bitrateKbps: number;
  /** Ladder jobs that measured this rung. */
  jobs: number;
  psnr?: number;
  ssim?: number;
  vmaf?: number;
  /** The lowest VMAF of one job's rung: the title this rung serves worst. */
  vmafMin?: number;
}

/**
 * The ladders' rungs by name, smallest first (the HDR twin after its SDR rung): mean scores
 * over the jobs that made each, and its worst VMAF, the figures a ladder's bitrates are tuned by.
 */
export function summariseRungs(rows: readonly RungRow[]): RungSummary[] {
  const groups = new Map<string, RungRow[]>();
  for (const row of rows) groups.set(row.rung, [...(groups.get(row.rung) ?? []), row]);
  return [...groups.values()]
    .map((members) => {
      const { rung, height, bitrateKbps } = members[0]!;
      const vmaf = defined(members.map((row) => row.vmaf));
      return {
        rung,
        height,
        bitrateKbps,
        jobs: members.length,
        psnr: mean(defined(members.map((row) => row.psnr))),
        ssim: mean(defined(members.map((row) => row.ssim))),
        vmaf: mean(vmaf),
        vmafMin: vmaf.length > 0 ? Math.min(...vmaf) : undefined,
      };
    })
    .sort((a, b) => a.height - b.height || a.bitrateKbps - b.bitrateKbps || a.rung.localeCompare(b.rung));
}

/** Linear interpolation between closest ranks (numpy's default), p in [0, 100]. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

function defined(values: readonly (number | undefined)[]): number[] {
  return values.filter((v): v is number => v !== undefined && Number.isFinite(v));
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function mean(values: readonly number[]): number | undefined {
  return values.length > 0 ? sum(values) / values.length : undefined;
}
