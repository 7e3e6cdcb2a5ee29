import type { Dimension, GroupSummary } from './aggregate.ts';
import { STAGES, type StageName } from './records.ts';

export const DIMENSION_TITLES: Record<Dimension, string> = {
  pool: 'pool',
  'instance-type': 'instance type',
  'job-name': 'job name',
};

/** Stages any group recorded, in pipeline order. */
export function stagesPresent(groups: readonly GroupSummary[]): StageName[] {
  return STAGES.filter((stage) => groups.some((g) => g.stages[stage]));
}

export function fixed(value: number | undefined, digits: number): string {
  return value === undefined ? '' : value.toFixed(digits);
}

/** A plain-text table per dimension, numbers right-aligned; stages as median/p95 seconds. */
export function formatTable(dimension: Dimension, groups: readonly GroupSummary[], currency: string): string {
  const stages = stagesPresent(groups);
  const header = [
    DIMENSION_TITLES[dimension],
    'jobs',
    'failed',
    ...stages.map((s) => `${s} s p50/p95`),
    'speed',
    'PSNR',
    'SSIM',
    'VMAF',
    'out min',
    `${currency}/out min`,
  ];
  const rows = groups.map((g) => [
    g.group,
    String(g.jobs),
    String(g.failed),
    ...stages.map((s) => {
      const st = g.stages[s];
      return st ? `${st.median.toFixed(2)}/${st.p95.toFixed(2)}` : '';
    }),
    g.speed === undefined ? '' : `${g.speed.toFixed(2)}x`,
    fixed(g.psnr, 2),
    fixed(g.ssim, 4),
    fixed(g.vmaf, 2),
    fixed(g.outputMinutes, 2),
    fixed(g.costPerOutputMinute, 5),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const CSV_STAGE_COLUMNS = STAGES.flatMap((s) => [`${s}_p50_s`, `${s}_p95_s`]);
export const CSV_COLUMNS = [
  'group_by',
  'group',
  'jobs',
  'failed',
  ...CSV_STAGE_COLUMNS,
  'speed',
  'psnr',
  'ssim',
  'vmaf',
  'output_minutes',
  'cost_per_output_minute',
  'currency',
];

/** One CSV for all dimensions: a `group_by` column says which one a row belongs to. */
export function formatCsv(groups: readonly GroupSummary[], currency: string): string {
  const rows = groups.map((g) => [
    g.dimension,
    g.group,
    g.jobs,
    g.failed,
    ...STAGES.flatMap((s) => [g.stages[s]?.median, g.stages[s]?.p95]),
    g.speed,
    g.psnr,
    g.ssim,
    g.vmaf,
    g.outputMinutes,
    g.costPerOutputMinute,
    currency,
  ]);
  return `${[CSV_COLUMNS, ...rows].map((row) => row.map(csvCell).join(',')).join('\n')}\n`;
}

function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'number')
    return Number.isInteger(value) ? String(value) : String(Number(value.toFixed(6)));
  const text = String(value);
  // Quote when needed, and defuse spreadsheet formulas in names that came from job submitters.
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
