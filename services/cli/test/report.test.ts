import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { percentile, summarise, summariseRungs } from '../src/report/aggregate.ts';
import { formatCsv, formatRungTable, formatTable } from '../src/report/format.ts';
import { barChart, renderHtml } from '../src/report/html.ts';
import { loadPriceTable, type PriceTable } from '../src/report/prices.ts';
import {
  type JobRow,
  partitionDay,
  qualityFromFfqm,
  type RungRow,
  rowFromTiming,
  rungFromFfqm,
} from '../src/report/records.ts';

const prices: PriceTable = { currency: 'USD', prices: { 'c6i.large': 0.036, 'c7g.large': 0.018 } };

function row(partial: Partial<JobRow> & Pick<JobRow, 'pool' | 'instanceType'>): JobRow {
  return {
    key: 'k',
    jobId: '1',
    jobName: 'clip',
    state: 'succeeded',
    stages: { download: 1, ffmpeg: 10, upload: 1, total: 12 },
    mediaDurationSeconds: 60,
    ...partial,
  };
}

describe('summarise', () => {
  it('gives median and p95 per stage, mean quality and cost per output minute per group', () => {
    const rows = [
      ...[10, 20, 30, 40, 50].map((ffmpeg, i) =>
        row({
          pool: 'intel',
          instanceType: 'c6i.large',
          jobId: String(i),
          stages: { ffmpeg, total: 100 },
          psnr: 40 + i,
          speed: 2,
        }),
      ),
      row({
        pool: 'arm',
        instanceType: 'c7g.large',
        stages: { ffmpeg: 5, total: 200 },
        mediaDurationSeconds: 120,
      }),
      row({ pool: 'arm', instanceType: 'c7g.large', state: 'failed', stages: { ffmpeg: 999 } }),
    ];
    const [arm, intel] = summarise(rows, 'pool', prices);
    expect(intel).toMatchObject({ group: 'intel', jobs: 5, failed: 0, psnr: 42, speed: 2, outputMinutes: 5 });
    expect(intel!.stages.ffmpeg).toEqual({ median: 30, p95: 48 });
    // 5 jobs × 100 s at 0.036/h = 0.005, over 5 output minutes.
    expect(intel!.costPerOutputMinute).toBeCloseTo(0.001, 10);
    // The failed attempt counts as a job but not in stage times or cost.
    expect(arm).toMatchObject({ jobs: 2, failed: 1, stages: { ffmpeg: { median: 5, p95: 5 } } });
    expect(arm!.costPerOutputMinute).toBeCloseTo((0.018 * 200) / 3600 / 2, 10);
    expect(arm!.psnr).toBeUndefined();
  });

  it('leaves cost out for instance types without a price', () => {
    const [only] = summarise([row({ pool: 'amd', instanceType: 'm6a.large' })], 'instance-type', prices);
    expect(only!.costPerOutputMinute).toBeUndefined();
  });

  it('interpolates percentiles like numpy', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([5], 95)).toBe(5);
    expect(percentile([0, 10], 95)).toBeCloseTo(9.5);
  });
});

/** A quality record as a worker writes it (VMAF unavailable), scoring `psnr` dB. */
function qualityRecord(
  psnr: number,
  rung?: { name: string; width: number; height: number; bitrate_kbps: number },
) {
  const stats = (average: number) => ({ average, median: average, stdev: 0, min: average, max: average });
  const record = {
    psnr: [{ n: 1, psnr_avg: psnr }],
    ssim: [{ n: 1, ssim_avg: 0.97 }],
    global: { psnr: { psnr_avg: stats(psnr) }, ssim: { ssim_avg: stats(0.97) } },
    input_file_dist: 's3://out/b.mp4',
    input_file_ref: 's3://in/a.mp4',
    AWS_BATCH_JOB_ID: '9',
    AWS_BATCH_JQ_NAME: 'intel',
    AWS_BATCH_CE_NAME: 'c6i.large',
    ffleet: {
      version: 1,
      job_id: '9',
      pool: 'intel',
      created_at: '2024-02-29T10:00:00Z',
      frames: 1,
      psnr_ceiling_db: 100,
      vmaf: { available: false, reason: 'no libvmaf' },
      mode: 'sampled',
      subsample: 5,
      ffmpeg_summary: {},
      elapsed_ms: 12,
    },
  };
  return rung ? { ...record, ffleet: { ...record.ffleet, rung } } : record;
}

describe('records from S3 are checked, not trusted', () => {
  const timing = {
    version: 1,
    job_id: '9',
    pool: 'intel',
    instance_type: 'c6i.large',
    attempt: 1,
    state: 'succeeded',
    finished_at: '2024-02-29T10:00:00Z',
    stages_ms: { download: 1500, ffmpeg: 2500, upload: 0, total: 4000 },
    input_bytes: 10,
    output_bytes: 5,
    quality: { psnr: 41.5 },
  };

  it('reads a timing record and its partition day', () => {
    const key = 'metrics/timings/year=2024/month=02/day=29/intel_9.json';
    const parsed = rowFromTiming(key, timing);
    expect(parsed).toMatchObject({
      jobName: '(unnamed)',
      stages: { download: 1.5, ffmpeg: 2.5, upload: 0, total: 4 },
      psnr: 41.5,
      finishedAt: new Date('2024-02-29T10:00:00Z'),
    });
    expect(parsed.stages.queue).toBeUndefined();
    expect(partitionDay(key)).toEqual(new Date('2024-02-29T00:00:00Z'));
  });

  it('refuses a timing record that breaks its schema, naming the field', () => {
    const key = 'metrics/timings/year=2024/month=02/day=29/intel_9.json';
    expect(() => rowFromTiming(key, { ...timing, job_id: undefined })).toThrow(
      /not a timing record: \/job_id/,
    );
    expect(() => rowFromTiming(key, { ...timing, stages_ms: { ...timing.stages_ms, upload: 'x' } })).toThrow(
      /\/stages_ms\/upload/,
    );
    expect(() => rowFromTiming(key, { ...timing, version: 2 })).toThrow(/\/version/);
    expect(() => rowFromTiming(key, [1, 2])).toThrow(/not a timing record/);
  });

  it("takes quality averages from a quality record's global block, and refuses what is not one", () => {
    const record = qualityRecord(38.2);
    expect(qualityFromFfqm(record)).toEqual({
      psnr: 38.2,
      ssim: 0.97,
      vmaf: undefined,
      vmafUnavailable: 'no libvmaf',
    });
    // A global block alone (no ffleet section) is not one of ffleet's quality records.
    expect(() => qualityFromFfqm({ global: record.global })).toThrow(/not a quality record/);
    expect(() => qualityFromFfqm({ ...record, ffleet: { ...record.ffleet, mode: 'some' } })).toThrow(
      /\/ffleet\/mode/,
    );
  });
});

describe("ladder rungs, from each rung's quality record", () => {
  const rung = { name: '720p-3000k', width: 1280, height: 720, bitrate_kbps: 3000 };

  it('reads the rung a record measured, and refuses a record that names none', () => {
    const key = 'metrics/ffqm/year=2024/month=02/day=29/intel_9.720p-3000k.json';
    expect(rungFromFfqm(key, qualityRecord(39.5, rung))).toEqual({
      key,
      jobId: '9',
      pool: 'intel',
      rung: '720p-3000k',
      width: 1280,
      height: 720,
      bitrateKbps: 3000,
      psnr: 39.5,
      ssim: 0.97,
      vmaf: undefined,
    });
    expect(() => rungFromFfqm(key, qualityRecord(39.5))).toThrow(/names no rung/);
    expect(() => rungFromFfqm(key, { ...qualityRecord(1, rung), global: 3 })).toThrow(/not a quality record/);
  });

  const rungRow = (name: string, height: number, bitrateKbps: number, vmaf?: number): RungRow => ({
    key: 'k',
    jobId: String(vmaf),
    pool: 'intel',
    rung: name,
    width: Math.round((height * 16) / 9),
    height,
    bitrateKbps,
    psnr: 40,
    ssim: 0.98,
    ...(vmaf === undefined ? {} : { vmaf }),
  });
  const rungs = summariseRungs([
    rungRow('720p-3000k-hdr', 720, 3000, 95),
    rungRow('720p-3000k', 720, 3000, 90),
    rungRow('720p-3000k', 720, 3000, 80),
    rungRow('360p-730k', 360, 730),
    rungRow('720p-4500k', 720, 4500, 96),
  ]);

  it('groups rungs by name across jobs, smallest first, the HDR twin after its SDR rung: mean scores and the worst VMAF', () => {
    expect(rungs.map((r) => [r.rung, r.jobs])).toEqual([
      ['360p-730k', 1],
      ['720p-3000k', 2],
      ['720p-3000k-hdr', 1],
      ['720p-4500k', 1],
    ]);
    expect(rungs[1]).toMatchObject({ psnr: 40, ssim: 0.98, vmaf: 85, vmafMin: 80 });
    expect(rungs[0]!.vmaf).toBeUndefined();
    expect(rungs[0]!.vmafMin).toBeUndefined();
  });

  it('prints them as a table, and as rung rows of the CSV', () => {
    const lines = formatRungTable(rungs).split('\n');
    expect(lines[0]!.split(/\s+/)).toEqual(['rung', 'jobs', 'PSNR', 'SSIM', 'VMAF', 'VMAF', 'min']);
    expect(lines[3]!.split(/\s+/)).toEqual(['720p-3000k', '2', '40.00', '0.9800', '85.00', '80.00']);
    // Columns line up; a rung with no VMAF ends at its SSIM, with no trailing spaces.
    expect(new Set([0, 1, 3, 4, 5].map((i) => lines[i]!.length)).size).toBe(1);
    expect(lines[2]!.split(/\s+/)).toEqual(['360p-730k', '1', '40.00', '0.9800']);
    expect(lines[2]!.length).toBe(lines[0]!.indexOf('SSIM') + 'SSIM'.length);
    const [header, ...csvRows] = formatCsv([], 'USD', rungs).trim().split('\n');
    const columns = header!.split(',');
    const cells = Object.fromEntries(csvRows[1]!.split(',').map((v, i) => [columns[i], v]));
    expect(cells).toMatchObject({
      group_by: 'rung',
      group: '720p-3000k',
      jobs: '2',
      vmaf: '85',
      vmaf_min: '80',
    });
    expect(cells.ffmpeg_p50_s).toBe('');
    expect(cells.currency).toBe('');
    expect(
      renderHtml({
        title: 'r',
        generatedAt: new Date(0),
        jobs: 2,
        currency: 'USD',
        groups: {},
        rungs,
        notes: [],
      }),
    ).toContain(
      '<tr><th scope="row">720p-3000k</th><td>2</td><td>40.00</td><td>0.9800</td><td>85.00</td><td>80.00</td></tr>',
    );
  });
});

describe('outputs', () => {
  const groups = summarise(
    [row({ pool: 'intel', instanceType: 'c6i.large', jobName: '=HYPERLINK("x"),"evil"' })],
    'job-name',
    prices,
  );

  it('CSV quotes commas and quotes and defuses formulas', () => {
    const csv = formatCsv(groups, 'USD');
    const [header, line] = csv.trim().split('\n');
    expect(header!.split(',').slice(0, 4)).toEqual(['group_by', 'group', 'jobs', 'failed']);
    expect(line).toMatch(/^job-name,"'=HYPERLINK\(""x""\),""evil""",1,0,/);
  });

  it('the table aligns columns and shows stage p50/p95', () => {
    const table = formatTable('job-name', groups, 'USD');
    const lines = table.split('\n');
    expect(lines[0]).toContain('ffmpeg s p50/p95');
    expect(lines[2]).toContain('10.00/10.00');
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
  });

  it('HTML escapes names and draws one bar per group', () => {
    const svg = barChart('t', 's', [
      { label: '<script>', value: 2 },
      { label: 'b', value: 1 },
    ]);
    expect(svg.match(/class="bar"/g)).toHaveLength(2);
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&#60;script&#62;');
    const html = renderHtml({
      title: 'r',
      generatedAt: new Date(0),
      jobs: 1,
      currency: 'USD',
      groups: {},
      notes: [],
    });
    expect(html).not.toMatch(/<script|<link|src=|href=/);
  });
});

describe('price table', () => {
  it('overrides the defaults instance type by instance type', async () => {
    const defaults = await loadPriceTable();
    expect(defaults.prices['c6i.large']).toBeGreaterThan(0);
    const dir = mkdtempSync(join(tmpdir(), 'ffleet-prices-'));
    try {
      const file = join(dir, 'prices.json');
      writeFileSync(file, JSON.stringify({ currency: 'EUR', prices: { 'c6i.large': 0.5, 'x9.huge': 9 } }));
      const merged = await loadPriceTable(file);
      expect(merged.currency).toBe('EUR');
      expect(merged.prices['c6i.large']).toBe(0.5);
      expect(merged.prices['x9.huge']).toBe(9);
      expect(merged.prices['c7g.large']).toBe(defaults.prices['c7g.large']);
      writeFileSync(file, 'prices:\n  c6i.large: cheap\n');
      await expect(loadPriceTable(file)).rejects.toThrow('c6i.large');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
