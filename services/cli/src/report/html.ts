import type { Dimension, GroupSummary, RungSummary } from './aggregate.ts';
import { DIMENSION_TITLES, fixed, RUNGS_TITLE, stagesPresent } from './format.ts';

export interface Bar {
  label: string;
  value: number;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const PALETTE = ['#2f6fde', '#e0702d', '#2e9e5b', '#b8458f', '#7a5cd6', '#c9a227', '#3a9fb0', '#8c6d4f'];

/** The same group gets the same colour in every chart. */
export function colourOf(label: string): string {
  let hash = 0;
  for (const char of label) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return PALETTE[hash % PALETTE.length]!;
}

/** A horizontal bar chart as inline SVG: one `rect.bar` per bar, labelled, no scripts or fonts to fetch. */
export function barChart(title: string, unit: string, bars: readonly Bar[], digits = 2): string {
  const shown = bars.filter((b) => Number.isFinite(b.value) && b.value >= 0);
  const labelWidth = 170;
  const chartWidth = 420;
  const rowHeight = 26;
  const width = labelWidth + chartWidth + 90;
  const height = 40 + rowHeight * Math.max(shown.length, 1);
  const max = Math.max(...shown.map((b) => b.value), 0) || 1;
  const rows = shown.map((bar, i) => {
    const y = 32 + i * rowHeight;
    const w = Math.max(1, (bar.value / max) * chartWidth);
    return [
      `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${escapeHtml(bar.label)}</text>`,
      `<rect class="bar" x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${rowHeight - 6}" fill="${colourOf(bar.label)}" data-label="${escapeHtml(bar.label)}" data-value="${bar.value}"/>`,
      `<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + 15}">${bar.value.toFixed(digits)}</text>`,
    ].join('');
  });
  const empty = shown.length === 0 ? `<text x="${labelWidth}" y="50">no data</text>` : '';
  return `<figure class="chart"><svg xmlns="http://www.w3.org/2000/svg" role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" aria-label="${escapeHtml(title)}"><title>${escapeHtml(title)}</title><text class="title" x="0" y="16">${escapeHtml(title)} (${escapeHtml(unit)})</text>${rows.join('')}${empty}</svg></figure>`;
}

function table(dimension: Dimension, groups: readonly GroupSummary[], currency: string): string {
  const stages = stagesPresent(groups);
  const head = [
    DIMENSION_TITLES[dimension],
    'jobs',
    'failed',
    ...stages.map((s) => `${s} s<br>p50 / p95`),
    'speed',
    'PSNR dB',
    'SSIM',
    'VMAF',
    'output min',
    `${escapeHtml(currency)} / output min`,
  ];
  const body = groups.map((g) => {
    const cells = [
      String(g.jobs),
      String(g.failed),
      ...stages.map((s) => {
        const st = g.stages[s];
        return st ? `${st.median.toFixed(2)} / ${st.p95.toFixed(2)}` : '';
      }),
      g.speed === undefined ? '' : `${g.speed.toFixed(2)}×`,
      fixed(g.psnr, 2),
      fixed(g.ssim, 4),
      fixed(g.vmaf, 2),
      fixed(g.outputMinutes, 2),
      fixed(g.costPerOutputMinute, 5),
    ];
    return { label: g.group, cells };
  });
  return htmlTable(head, body);
}

function rungTable(rungs: readonly RungSummary[]): string {
  const head = ['rung', 'jobs', 'PSNR dB', 'SSIM', 'VMAF', 'VMAF min'];
  const body = rungs.map((r) => ({
    label: r.rung,
    cells: [String(r.jobs), fixed(r.psnr, 2), fixed(r.ssim, 4), fixed(r.vmaf, 2), fixed(r.vmafMin, 2)],
  }));
  return htmlTable(head, body);
}

/** A table whose rows start with their label (escaped here) as a row header; `head` and cells are markup. */
function htmlTable(
  head: readonly string[],
  rows: readonly { label: string; cells: readonly string[] }[],
): string {
  const body = rows.map(
    (row) =>
      `<tr><th scope="row">${escapeHtml(row.label)}</th>${row.cells.map((c) => `<td>${c}</td>`).join('')}</tr>`,
  );
  return `<table><thead><tr>${head.map((h) => `<th scope="col">${h}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table>`;
}

export interface HtmlReportInput {
  title: string;
  generatedAt: Date;
  jobs: number;
  currency: string;
  groups: Partial<Record<Dimension, GroupSummary[]>>;
  /** The ladders' rungs, when the selection has ladder jobs with quality. */
  rungs?: readonly RungSummary[];
  notes: string[];
}

/** One self-contained page: inline CSS and SVG, nothing fetched, works from a file or an email. */
export function renderHtml(input: HtmlReportInput): string {
  const byType = input.groups['instance-type'] ?? [];
  const byPool = input.groups.pool ?? [];
  const stageBars = (groups: readonly GroupSummary[], stage: 'ffmpeg' | 'total') =>
    groups.flatMap((g) => (g.stages[stage] ? [{ label: g.group, value: g.stages[stage].median }] : []));
  // Instance-type charts only when the report groups by instance type.
  const typeCharts = input.groups['instance-type']
    ? [
        barChart('ffmpeg seconds by instance type, median', 's', stageBars(byType, 'ffmpeg')),
        barChart(
          'Cost per output minute by instance type',
          `${input.currency}`,
          byType.flatMap((g) =>
            g.costPerOutputMinute === undefined ? [] : [{ label: g.group, value: g.costPerOutputMinute }],
          ),
          5,
        ),
      ]
    : [];
  const charts = [
    ...typeCharts,
    barChart('Job seconds by pool, median', 's', stageBars(byPool, 'total')),
    barChart(
      'PSNR by pool, mean',
      'dB',
      byPool.flatMap((g) => (g.psnr === undefined ? [] : [{ label: g.group, value: g.psnr }])),
    ),
  ];
  const sections = (Object.entries(input.groups) as [Dimension, GroupSummary[]][]).map(
    ([dimension, groups]) =>
      `<section><h2>By ${DIMENSION_TITLES[dimension]}</h2>${table(dimension, groups, input.currency)}</section>`,
  );
  if (input.rungs && input.rungs.length > 0)
    sections.push(`<section><h2>${RUNGS_TITLE}</h2>${rungTable(input.rungs)}</section>`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(input.title)}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1d232b;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#59636e;margin:0 0 16px}
.charts{display:flex;flex-wrap:wrap;gap:16px}
.chart{margin:0;padding:12px;border:1px solid #d8dee4;border-radius:6px}
.chart text{font-size:12px;fill:#1d232b}.chart text.title{font-weight:600;font-size:13px}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #d8dee4;padding:4px 8px;text-align:right;white-space:nowrap}
th[scope=row],thead th:first-child{text-align:left}thead th{background:#f3f5f7}
.notes{color:#59636e;font-size:12px}
</style></head><body>
<h1>${escapeHtml(input.title)}</h1>
<p class="meta">${input.jobs} job${input.jobs === 1 ? '' : 's'} · generated ${escapeHtml(input.generatedAt.toISOString())}</p>
<div class="charts">${charts.join('\n')}</div>
${sections.join('\n')}
<ul class="notes">${input.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>
</body></html>
`;
}
