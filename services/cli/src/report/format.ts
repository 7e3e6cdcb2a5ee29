import type { Dimension, GroupSummary, RungSummary } from './aggregate.ts';
import { STAGES, type StageName } from './records.ts';

export const DIMENSION_TITLES: Record<Dimension, string> = {
  pool: 'pool',
  'instance-type': 'instance type',
  'job-name': 'job name',
};

/** The title of the ladders' rungs section. */
export const RUNGS_TITLE = 'Ladder rungs, against their sources';

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
  return aligned(header, rows);
}

/** The ladders' rungs: how many jobs measured each, mean PSNR, SSIM and VMAF, and the worst VMAF. */
export function formatRungTable(rungs: readonly RungSummary[]): string {
  const header = ['rung', 'jobs', 'PSNR', 'SSIM', 'VMAF', 'VMAF min'];
  const rows = rungs.map((r) => [
    r.rung,
    String(r.jobs),
    fixed(r.psnr, 2),
    fixed(r.ssim, 4),
    fixed(r.vmaf, 2),
    fixed(r.vmafMin, 2),
  ]);
  return aligned(header, rows);
}

/**
 * A plain-text table: the first column left-aligned, numbers right-aligned, a rule under the
 * header. A row whose last cells are empty (no VMAF measured) ends at its last value.
 */
function aligned(header: readonly string[], rows: readonly string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
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
  'vmaf_min',
  'output_minutes',
  'cost_per_output_minute',
  'currency',
];

/**
 * One CSV for all dimensions: a `group_by` column says which one a row belongs to; the ladders'
 * rungs follow as `rung` rows (their jobs and quality; no stages or cost of their own).
 */
export function formatCsv(
  groups: readonly GroupSummary[],
  currency: string,
  rungs: readonly RungSummary[] = [],
): string {
  const groupRows = groups.map(
    (g): Record<string, unknown> => ({
      group_by: g.dimension,
      group: g.group,
      jobs: g.jobs,
      failed: g.failed,
      ...Object.fromEntries(
        STAGES.flatMap((s) => [
          [`${s}_p50_s`, g.stages[s]?.median],
          [`${s}_p95_s`, g.stages[s]?.p95],
        ]),
      ),
      speed: g.speed,
      psnr: g.psnr,
      ssim: g.ssim,
      vmaf: g.vmaf,
      output_minutes: g.outputMinutes,
      cost_per_output_minute: g.costPerOutputMinute,
      currency,
    }),
  );
  const rungRows = rungs.map(
    (r): Record<string, unknown> => ({
      group_by: 'rung',
      group: r.rung,
      jobs: r.jobs,
      psnr: r.psnr,
      ssim: r.ssim,
      vmaf: r.vmaf,
      vmaf_min: r.vmafMin,
    }),
  );
  const lines = [CSV_COLUMNS, ...[...groupRows, ...rungRows].map((row) => CSV_COLUMNS.map((c) => row[c]))];
  return `${lines.map((row) => row.map(csvCell).join(',')).join('\n')}\n`;
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
