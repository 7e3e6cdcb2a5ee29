import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ffmpegOutput, S3Store, s3SettingsFromEnv } from '@ffleet/core';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../../../scripts/lib/stack.ts';
// The worker writes the records this report reads: use its writer, so the two stay in step.
import { measureQuality } from '../../worker/src/quality/measure.ts';
import {
  ffqmKey,
  metricsObjectUrl,
  qualityRecord,
  timingKey,
  timingRecord,
  writeJsonRecord,
} from '../../worker/src/quality/records.ts';
import { type ReportResult, runReport } from '../src/report/run.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const DAY = Date.parse('2024-06-10T12:00:00Z');

let stack: Stack;
let dir: string;
let result: ReportResult;
const printed: string[] = [];

// Jobs of two local pools, as their workers would record them: intel on c6i.large, arm on
// c7g.large, two job names, one failed attempt, one job whose quality is only in its ffqm record.
const jobs = [
  { id: '1', pool: 'intel', type: 'c6i.large', name: 'clip', ffmpeg: 20_000, psnr: 41 },
  { id: '2', pool: 'intel', type: 'c6i.large', name: 'clip', ffmpeg: 22_000, psnr: 43 },
  { id: '3', pool: 'intel', type: 'c6i.large', name: 'ladder', ffmpeg: 60_000, psnr: 39 },
  { id: '4', pool: 'arm', type: 'c7g.large', name: 'clip', ffmpeg: 30_000, psnr: 42 },
  { id: '5', pool: 'arm', type: 'c7g.large', name: 'ladder', ffmpeg: 90_000, psnr: 38 },
  { id: '6', pool: 'arm', type: 'c7g.large', name: 'clip', ffmpeg: 5_000, psnr: undefined, failed: true },
];

beforeAll(async () => {
  stack = await startStack({ bucket: 'ffleet-metrics' });
  dir = mkdtempSync(join(tmpdir(), 'ffleet-report-'));
  const settings = s3SettingsFromEnv(stack.env);
  const store = new S3Store(settings);
  const at = new Date(DAY);
  const put = (key: string, value: unknown) =>
    writeJsonRecord(store, metricsObjectUrl(stack.bucket, key), value, dir);

  for (const job of jobs) {
    const stagesMs = { download: 1000, ffmpeg: job.ffmpeg, upload: 500, total: job.ffmpeg + 1500 };
    await put(
      timingKey(job.pool, job.id, at),
      timingRecord({
        jobId: job.id,
        jobName: job.name,
        pool: job.pool,
        instanceType: job.type,
        state: job.failed ? 'failed' : 'succeeded',
        finishedAt: DAY,
        stagesMs,
        inputBytes: 1e6,
        outputBytes: 5e5,
        mediaDurationSeconds: 60,
        speed: 60_000 / job.ffmpeg,
      }),
    );
  }
  // Quality for jobs 1–5 lives in their ffqm records; job 4's is a real measurement.
  await ffmpegOutput('ffmpeg', [
    ...['-hide_banner', '-nostdin', '-y', '-v', 'error', '-f', 'lavfi'],
    ...['-i', 'testsrc2=size=160x120:rate=10:duration=1', '-c:v', 'ffv1', join(dir, 'ref.mkv')],
  ]);
  await ffmpegOutput('ffmpeg', [
    ...['-hide_banner', '-nostdin', '-y', '-v', 'error', '-i', join(dir, 'ref.mkv')],
    ...['-c:v', 'libx264', '-crf', '30', join(dir, 'out.mp4')],
  ]);
  const real = await measureQuality({
    reference: join(dir, 'ref.mkv'),
    distorted: join(dir, 'out.mp4'),
    workDir: join(dir, 'q'),
  });
  for (const job of jobs.filter((j) => j.psnr !== undefined)) {
    const measured =
      job.id === '4'
        ? real
        : {
            ...real,
            global: {
              ...real.global,
              psnr: {
                psnr_avg: { average: job.psnr!, median: job.psnr!, stdev: 0, min: job.psnr!, max: job.psnr! },
              },
            },
          };
    if (job.id === '4') job.psnr = real.global.psnr.psnr_avg!.average;
    const refs = { referenceUrl: 's3://in/a.mp4', outputUrl: 's3://out/b.mp4' };
    await put(
      ffqmKey(job.pool, job.id, at),
      qualityRecord(
        measured,
        { jobId: job.id, jobName: job.name, pool: job.pool, instanceType: job.type, ...refs },
        at,
      ),
    );
  }
  // A job from another day, and an object that is not a record.
  await put(
    timingKey('intel', 'old', new Date('2024-05-01T00:00:00Z')),
    timingRecord({
      jobId: 'old',
      pool: 'intel',
      instanceType: 'c6i.large',
      state: 'succeeded',
      finishedAt: Date.parse('2024-05-01T00:00:00Z'),
      stagesMs: { download: 1, ffmpeg: 1, upload: 1, total: 3 },
      inputBytes: 1,
      outputBytes: 1,
    }),
  );
  writeFileSync(join(dir, 'junk.json'), 'not json');
  await store.upload(join(dir, 'junk.json'), metricsObjectUrl(stack.bucket, timingKey('intel', 'junk', at)));
  // JSON that breaks the record schemas: a timing record with a stage that is not a number, and
  // a quality record without ffleet's section for the failed job 6 (which keeps its row).
  await put(timingKey('intel', 'bad', at), {
    ...timingRecord({
      jobId: 'bad',
      pool: 'intel',
      state: 'succeeded',
      finishedAt: DAY,
      stagesMs: { download: 1, ffmpeg: 1, upload: 1, total: 3 },
      inputBytes: 1,
      outputBytes: 1,
    }),
    stages_ms: { download: 1, ffmpeg: 'slow', upload: 1, total: 3 },
  });
  await put(ffqmKey('arm', '6', at), { global: { psnr: { psnr_avg: { average: 99 } } } });

  result = await runReport({
    bucket: stack.bucket,
    s3: settings,
    since: new Date('2024-06-01T00:00:00Z'),
    csvFile: join(dir, 'out', 'report.csv'),
    htmlFile: join(dir, 'out', 'report.html'),
    print: (text) => printed.push(text),
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('ffleet report over two pools in S3', () => {
  it('reads every record in range, skips what it cannot read, and says so', () => {
    expect(result.jobs).toBe(6);
    expect(result.skipped).toHaveLength(3);
    expect(result.skipped).toEqual(
      expect.arrayContaining([
        { key: 'metrics/timings/year=2024/month=06/day=10/intel_junk.json', reason: expect.any(String) },
        {
          key: 'metrics/timings/year=2024/month=06/day=10/intel_bad.json',
          reason: expect.stringMatching(/^not a timing record: \/stages_ms\/ffmpeg/),
        },
        {
          key: 'metrics/ffqm/year=2024/month=06/day=10/arm_6.json',
          reason: expect.stringMatching(/^not a quality record: /),
        },
      ]),
    );
    const output = printed.join('\n');
    expect(output).toContain('6 jobs from s3://ffleet-metrics/metrics/');
    expect(output).toContain('By pool');
    expect(output).toContain('By instance type');
    expect(output).toContain('By job name');
    expect(output).toMatch(/skipped metrics\/timings\/.*intel_junk\.json/);
    // This ffmpeg may lack libvmaf: the report passes on the worker's reason instead of a number.
    if (result.groups.pool!.every((g) => g.vmaf === undefined)) expect(output).toContain('VMAF not measured');
  });

  it('aggregates per pool with quality joined from the ffqm records', () => {
    const pools = result.groups.pool!;
    const arm = pools.find((g) => g.group === 'arm')!;
    const intel = pools.find((g) => g.group === 'intel')!;
    expect(intel).toMatchObject({ jobs: 3, failed: 0, stages: { ffmpeg: { median: 22 } } });
    expect(intel.psnr).toBeCloseTo(41, 6);
    expect(arm).toMatchObject({ jobs: 3, failed: 1, stages: { ffmpeg: { median: 60 } } });
    const realPsnr = jobs.find((j) => j.id === '4')!.psnr!;
    expect(realPsnr).toBeGreaterThan(25);
    expect(arm.psnr).toBeCloseTo((realPsnr + 38) / 2, 6);
    expect(arm.costPerOutputMinute).toBeGreaterThan(0);
    expect(intel.costPerOutputMinute).toBeGreaterThan(0);
  });

  it('writes CSV rows for every breakdown', () => {
    const csv = readFileSync(join(dir, 'out', 'report.csv'), 'utf8')
      .trim()
      .split('\n');
    expect(csv[0]).toMatch(/^group_by,group,jobs,failed,queue_p50_s,/);
    expect(csv.slice(1).map((line) => line.split(',').slice(0, 3).join(','))).toEqual([
      'pool,arm,3',
      'pool,intel,3',
      'instance-type,c6i.large,3',
      'instance-type,c7g.large,3',
      'job-name,clip,4',
      'job-name,ladder,2',
    ]);
  });

  // Starting Chromium alone can take longer than 5 s on a busy machine.
  it('renders an HTML page whose charts Chromium draws', { timeout: 60_000 }, async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium package`).toBe(true);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(pathToFileURL(join(dir, 'out', 'report.html')).href);
      // Self-contained: the page loads nothing but itself.
      expect(requests).toHaveLength(1);

      const chart = page.locator('figure.chart', { hasText: 'ffmpeg seconds by instance type' });
      const bars = chart.locator('rect.bar');
      expect(await bars.count()).toBe(2);
      expect(await bars.evaluateAll((els) => els.map((e) => e.getAttribute('data-label')))).toEqual([
        'c6i.large',
        'c7g.large',
      ]);
      expect(await page.locator('rect.bar').count()).toBe(2 + 2 + 2 + 2);

      const fills = await bars.evaluateAll((els) => els.map((e) => e.getAttribute('fill')!));
      expect(new Set(fills).size).toBe(2);
      const png = await chart.screenshot({ path: join(dir, 'report-chart.png') });
      await page.screenshot({ path: join(dir, 'report.png'), fullPage: true });
      // Decode the screenshot in the page and count pixels of each bar's colour.
      const counts = await page.evaluate(
        async ({ b64, colours }) => {
          // Node's type library has no DOM: name the few browser APIs used here.
          interface Img {
            src: string;
            width: number;
            height: number;
            decode(): Promise<void>;
          }
          interface Canvas {
            width: number;
            height: number;
            getContext(kind: '2d'): {
              drawImage(img: Img, x: number, y: number): void;
              getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
            } | null;
          }
          const win = globalThis as unknown as {
            Image: new () => Img;
            document: { createElement(tag: 'canvas'): Canvas };
          };
          const img = new win.Image();
          img.src = `data:image/png;base64,${b64}`;
          await img.decode();
          const canvas = win.document.createElement('canvas');
          canvas.width = img.width;
          canvas.height = img.height;
          const ctx = canvas.getContext('2d')!;
          ctx.drawImage(img, 0, 0);
          const data = ctx.getImageData(0, 0, img.width, img.height).data;
          const rgbs = colours.map((hex) =>
            [1, 3, 5].map((at) => Number.parseInt(hex.slice(at, at + 2), 16)),
          );
          const near = (i: number, rgb: number[]) => rgb.every((c, k) => Math.abs(data[i + k]! - c) < 8);
          const perColour = rgbs.map(() => 0);
          let nonWhite = 0;
          for (let i = 0; i < data.length; i += 4) {
            rgbs.forEach((rgb, k) => {
              if (near(i, rgb)) perColour[k]!++;
            });
            if (data[i]! < 240 || data[i + 1]! < 240 || data[i + 2]! < 240) nonWhite++;
          }
          return { perColour, nonWhite, total: data.length / 4 };
        },
        { b64: png.toString('base64'), colours: fills },
      );
      // Bars are 20 px tall; the shorter one here is 22/60 of 420 px wide.
      for (const pixels of counts.perColour) expect(pixels).toBeGreaterThan(2000);
      expect(counts.nonWhite / counts.total).toBeGreaterThan(0.05);
    } finally {
      await browser.close();
    }
  });
});
