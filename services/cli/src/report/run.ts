import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client, type S3Settings, s3SettingsFromEnv } from '@ffleet/core';
import {
  DIMENSIONS,
  type Dimension,
  type GroupSummary,
  type RungSummary,
  summarise,
  summariseRungs,
} from './aggregate.ts';
import { DIMENSION_TITLES, formatCsv, formatRungTable, formatTable, RUNGS_TITLE } from './format.ts';
import { renderHtml } from './html.ts';
import { loadPriceTable } from './prices.ts';
import { loadJobRows } from './records.ts';

export interface ReportOptions {
  /** Bucket holding `metrics/` (the fleet's metrics bucket). */
  bucket: string;
  /** S3 connection; defaults to the S3_* / AWS_* environment. */
  s3?: S3Settings;
  client?: S3Client;
  /** Only jobs that finished on or after / before these UTC days. */
  since?: Date;
  until?: Date;
  pools?: string[];
  /** Which breakdowns to print, default all: pool, instance-type, job-name. */
  by?: Dimension[];
  /** A price table (YAML or JSON) whose entries replace the defaults. */
  pricesFile?: string;
  csvFile?: string;
  htmlFile?: string;
  /** Where the console table goes; default stdout. */
  print?: (text: string) => void;
}

export interface ReportResult {
  jobs: number;
  groups: Partial<Record<Dimension, GroupSummary[]>>;
  /** The ladders' rungs, by name. */
  rungs: RungSummary[];
  table: string;
  csv: string;
  html: string;
  skipped: { key: string; reason: string }[];
}

/** `ffleet report`: reads the per-job records, prints tables, writes CSV and HTML if asked. */
export async function runReport(options: ReportOptions): Promise<ReportResult> {
  const print = options.print ?? ((text: string) => process.stdout.write(`${text}\n`));
  const client = options.client ?? createS3Client(options.s3 ?? s3SettingsFromEnv());
  const [prices, loaded] = await Promise.all([
    loadPriceTable(options.pricesFile),
    loadJobRows({
      client,
      bucket: options.bucket,
      since: options.since,
      until: options.until,
      pools: options.pools,
    }),
  ]);
  const dimensions = options.by && options.by.length > 0 ? options.by : [...DIMENSIONS];
  const groups: ReportResult['groups'] = {};
  for (const dimension of dimensions) groups[dimension] = summarise(loaded.rows, dimension, prices);
  const rungs = summariseRungs(loaded.rungs);

  const unpriced = [
    ...new Set(loaded.rows.map((r) => r.instanceType).filter((t) => prices.prices[t] === undefined)),
  ];
  const vmafReasons = [
    ...new Set(
      loaded.rows.flatMap((r) => (r.vmaf === undefined && r.vmafUnavailable ? [r.vmafUnavailable] : [])),
    ),
  ];
  const notes = [
    `Stages in seconds (median / 95th percentile) over succeeded jobs; cost = Spot price × job time ÷ output minutes, ${prices.currency} per instance-hour from ${options.pricesFile ?? 'the built-in example table'}.`,
    ...vmafReasons.map((reason) => `VMAF not measured for some jobs: ${reason}.`),
    ...(unpriced.length > 0 ? [`No price for: ${unpriced.join(', ')} (left out of cost).`] : []),
    ...(loaded.skipped.length > 0 ? [`${loaded.skipped.length} record(s) skipped as unreadable.`] : []),
  ];
  const table = [
    ...dimensions.map(
      (d) => `By ${DIMENSION_TITLES[d]}\n${formatTable(d, groups[d] ?? [], prices.currency)}`,
    ),
    ...(rungs.length > 0 ? [`${RUNGS_TITLE}\n${formatRungTable(rungs)}`] : []),
  ].join('\n\n');
  const csv = formatCsv(
    dimensions.flatMap((d) => groups[d] ?? []),
    prices.currency,
    rungs,
  );
  const html = renderHtml({
    title: 'ffleet report',
    generatedAt: new Date(),
    jobs: loaded.rows.length,
    currency: prices.currency,
    groups,
    rungs,
    notes,
  });

  print(
    loaded.rows.length === 0
      ? `No job records under s3://${options.bucket}/metrics/timings/ for this selection.`
      : `${loaded.rows.length} jobs from s3://${options.bucket}/metrics/\n\n${table}\n\n${notes.join('\n')}`,
  );
  for (const skip of loaded.skipped) print(`skipped ${skip.key}: ${skip.reason}`);
  if (options.csvFile) await writeOut(options.csvFile, csv, print);
  if (options.htmlFile) await writeOut(options.htmlFile, html, print);
  return { jobs: loaded.rows.length, groups, rungs, table, csv, html, skipped: loaded.skipped };
}

async function writeOut(file: string, text: string, print: (text: string) => void): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text);
  print(`wrote ${file}`);
}
