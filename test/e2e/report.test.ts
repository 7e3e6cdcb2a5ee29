import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, startFleet, type TestFleet } from '../support/fleet.ts';
import { makeSampleClip } from '../support/media.ts';

const exec = promisify(execFile);
const CLI = new URL('../../services/cli/src/main.ts', import.meta.url).pathname;

let fleet: TestFleet;

// Two local pools, as if on two instance families; quality on, as in a real fleet.
const POOLS = { intel: 'c6i.large', amd: 'm6a.large' } as const;
const JOBS = [
  { pool: 'intel', name: 'small', height: 120 },
  { pool: 'intel', name: 'small', height: 120 },
  { pool: 'intel', name: 'tiny', height: 90 },
  { pool: 'amd', name: 'small', height: 120 },
  { pool: 'amd', name: 'tiny', height: 90 },
] as const;

beforeAll(async () => {
  fleet = await startFleet({ env: { FFLEET_QUALITY_DEFAULT: 'true' } });
  const clip = join(fleet.dir, 'sample.mp4');
  await makeSampleClip(clip, { seconds: 2, size: '320x240' });
  await fleet.put('inputs/sample.mp4', clip);
  for (const [pool, instanceType] of Object.entries(POOLS))
    await fleet.startWorker(pool, { FFLEET_INSTANCE_TYPE: instanceType, FFLEET_CAPACITY_TYPE: 'spot' });

  const ids = await Promise.all(
    JOBS.map(async (job, i) => {
      const { status, body } = await fleet.api<{ id: string }>('POST', '/v1/jobs', {
        name: job.name,
        compute: job.pool,
        inputs: [{ url: `s3://${fleet.bucket}/inputs/sample.mp4` }],
        outputs: [
          {
            url: `s3://${fleet.bucket}/out/${i}.mp4`,
            options: `-vf scale=-2:${job.height} -c:v libx264 -preset ultrafast -c:a copy`,
          },
        ],
      });
      expect(status).toBe(202);
      return body.id;
    }),
  );
  for (const id of ids) {
    const job = await fleet.waitFor<{ state: string; error: unknown }>(id, finished);
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
  }
});

afterAll(async () => {
  await fleet?.stop();
});

/** `ffleet report`, run as a user runs it, against the fleet's S3. */
async function report(...args: string[]): Promise<string> {
  const { stdout } = await exec(process.execPath, [CLI, 'report', '--bucket', fleet.bucket, ...args], {
    cwd: fleet.dir,
    env: { PATH: process.env.PATH, ...fleet.stack.env },
  });
  return stdout;
}

describe('ffleet report over jobs of two pools', () => {
  it('prints one table per pool, instance type and job name, and writes CSV and HTML', async () => {
    const csvFile = join(fleet.dir, 'report', 'jobs.csv');
    const htmlFile = join(fleet.dir, 'report', 'jobs.html');
    const out = await report('--since', '1d', '--csv', csvFile, '--html', htmlFile);

    expect(out).toContain(`5 jobs from s3://${fleet.bucket}/metrics/`);
    const section = (title: string) => out.split(`By ${title}\n`)[1]!.split('\n\n')[0]!.split('\n');
    const pools = section('pool');
    expect(pools[0]).toMatch(/^pool\s+jobs\s+failed\s+queue s p50\/p95\s+download s p50\/p95\s+ffmpeg s/);
    expect(pools[0]).toContain('quality s p50/p95');
    const row = (lines: string[], group: string) =>
      lines.find((l) => l.startsWith(`${group} `))!.split(/\s+/);
    expect(row(pools, 'amd').slice(0, 3)).toEqual(['amd', '2', '0']);
    expect(row(pools, 'intel').slice(0, 3)).toEqual(['intel', '3', '0']);
    expect(section('instance type').map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual(
      expect.arrayContaining(['c6i.large 3', 'm6a.large 2']),
    );
    expect(section('job name').map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual(
      expect.arrayContaining(['small 3', 'tiny 2']),
    );
    // This ffmpeg has no libvmaf: the report says why instead of printing a number.
    expect(out).toMatch(/VMAF not measured for some jobs: .*libvmaf/);
    expect(out).toContain(`wrote ${csvFile}`);
    expect(out).toContain(`wrote ${htmlFile}`);

    const csv = (await readFile(csvFile, 'utf8')).trim().split('\n');
    const header = csv[0]!.split(',');
    expect(header.slice(0, 4)).toEqual(['group_by', 'group', 'jobs', 'failed']);
    const rows = csv
      .slice(1)
      .map((line) => Object.fromEntries(line.split(',').map((v, i) => [header[i], v])));
    expect(rows.map((r) => `${r.group_by},${r.group},${r.jobs}`)).toEqual([
      'pool,amd,2',
      'pool,intel,3',
      'instance-type,c6i.large,3',
      'instance-type,m6a.large,2',
      'job-name,small,3',
      'job-name,tiny,2',
    ]);
    for (const r of rows) {
      // Quality was measured on every job: a 320x240 clip scaled down and compared at full size.
      expect(Number(r.psnr), JSON.stringify(r)).toBeGreaterThan(15);
      expect(Number(r.ssim)).toBeGreaterThan(0.5);
      expect(r.vmaf).toBe('');
    }
    // Both instance types have a price in the built-in table.
    for (const r of rows.filter((r) => r.group_by === 'instance-type'))
      expect(Number(r.cost_per_output_minute)).toBeGreaterThan(0);

    // The HTML page: self-contained, a bar per instance type in the ffmpeg-seconds chart.
    // (Chromium's rendering of these charts is checked in services/cli/test/report-html.test.ts.)
    const html = await readFile(htmlFile, 'utf8');
    expect(html).not.toMatch(/(src|href)="https?:/);
    const chart = (title: string) => {
      const figure = html.split('<figure class="chart">').find((f) => f.includes(`aria-label="${title}`))!;
      return [...figure.matchAll(/<rect class="bar"[^>]*data-label="([^"]+)"[^>]*data-value="([^"]+)"/g)].map(
        (m) => [m[1], Number(m[2])] as const,
      );
    };
    const ffmpegBars = chart('ffmpeg seconds by instance type');
    expect(ffmpegBars.map(([label]) => label)).toEqual(['c6i.large', 'm6a.large']);
    for (const [, seconds] of ffmpegBars) expect(seconds).toBeGreaterThan(0);
    expect(chart('PSNR by pool').map(([label]) => label)).toEqual(['amd', 'intel']);
  });

  it('narrows to a pool and one breakdown', async () => {
    const out = await report('--pool', 'amd', '--by', 'instance-type');
    expect(out).toContain('2 jobs from');
    expect(out).toContain('By instance type');
    expect(out).not.toContain('By pool');
    expect(out).toMatch(/^m6a\.large\s+2\s+0\s/m);
    expect(out).not.toContain('c6i.large');
  });

  it('refuses a malformed day', async () => {
    await expect(report('--since', 'yesterday')).rejects.toMatchObject({
      stderr: expect.stringContaining('YYYY-MM-DD'),
    });
  });
});

describe("ffleet report over a ladder's rungs", () => {
  // Two rungs of the 320x240 clip, each measured against it: one quality record a rung.
  const RUNGS = [
    { height: 120, bitrateKbps: 60 },
    { height: 180, bitrateKbps: 90 },
  ];

  beforeAll(async () => {
    const id = await fleet.submit({
      name: 'ladder',
      compute: 'intel',
      inputs: [{ url: `s3://${fleet.bucket}/inputs/sample.mp4` }],
      outputs: [{ url: `s3://${fleet.bucket}/out/ladder/` }],
      ladder: { preset: 'ultrafast', rungs: RUNGS, dash: false },
    });
    const job = await fleet.waitFor<{ state: string; error: unknown }>(id, finished);
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
  });

  it("prints each rung's quality against the source, and writes its CSV rows", async () => {
    const csvFile = join(fleet.dir, 'report', 'rungs.csv');
    const out = await report('--by', 'job-name', '--csv', csvFile);
    const section = out.split('Ladder rungs, against their sources\n')[1]!.split('\n\n')[0]!.split('\n');
    expect(section[0]!.split(/\s+/)).toEqual(['rung', 'jobs', 'PSNR', 'SSIM', 'VMAF', 'VMAF', 'min']);
    const rows = section.slice(2).map((line) => line.split(/\s+/));
    expect(rows.map(([name, jobs]) => `${name} ${jobs}`)).toEqual(['120p-60k 1', '180p-90k 1']);
    // Each a real measurement: the smaller rung scores lower against the same source.
    const psnr = rows.map((row) => Number(row[2]));
    for (const value of psnr) expect(value).toBeGreaterThan(15);
    expect(psnr[0]).toBeLessThan(psnr[1]!);

    const csv = (await readFile(csvFile, 'utf8')).trim().split('\n');
    const header = csv[0]!.split(',');
    const rungRows = csv
      .slice(1)
      .map((line) => Object.fromEntries(line.split(',').map((v, i) => [header[i], v])))
      .filter((row) => row.group_by === 'rung');
    expect(rungRows.map((row) => [row.group, row.jobs, Number(Number(row.psnr).toFixed(2))])).toEqual([
      ['120p-60k', '1', psnr[0]],
      ['180p-90k', '1', psnr[1]],
    ]);
  });

  it('leaves the rungs of other pools out', async () => {
    expect(await report('--pool', 'amd')).not.toContain('Ladder rungs');
  });
});
