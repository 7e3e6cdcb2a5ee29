import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  compileCheck,
  FileStore,
  parseStorageUrl,
  QualityRecordSchema,
  TimingRecordSchema,
} from '@ffleet/core';
import { describe, expect, it } from 'vitest';
import { qualityFilterGraph } from '../src/quality/graph.ts';
import type { QualityMeasurement } from '../src/quality/measure.ts';
import { parseVmafLog } from '../src/quality/parse.ts';
import { availabilityFromFilterList } from '../src/quality/probe.ts';
import {
  ffqmKey,
  qualityRecord,
  recordName,
  timingKey,
  timingRecord,
  writeJsonRecord,
} from '../src/quality/records.ts';

describe('record keys', () => {
  it('partition by the UTC day the job finished, Hive style', () => {
    const at = new Date('2024-03-05T23:59:59Z');
    expect(ffqmKey('intel', '123', at)).toBe('metrics/ffqm/year=2024/month=03/day=05/intel_123.json');
    expect(timingKey('nvidia', 'abc', new Date('2025-12-31T00:00:00Z'))).toBe(
      'metrics/timings/year=2025/month=12/day=31/nvidia_abc.json',
    );
    expect(recordName(ffqmKey('intel', '123', at))).toBe('intel_123');
  });

  it('keep job ids from escaping their folder', () => {
    expect(ffqmKey('intel', '../../etc/passwd', new Date(0))).toBe(
      'metrics/ffqm/year=1970/month=01/day=01/intel_.._.._etc_passwd.json',
    );
    expect(timingKey('arm', 'job:1/2', new Date(0))).toMatch(/\/arm_job_1_2\.json$/);
  });
});

describe('VMAF', () => {
  it('is found only in builds whose filter list has libvmaf', () => {
    const without =
      ' TS. psnr              VV->V      Calculate the PSNR\n TS. ssim              VV->V      Calculate the SSIM\n';
    expect(availabilityFromFilterList(without)).toEqual({
      psnr: true,
      ssim: true,
      vmaf: { available: false, reason: expect.stringContaining('libvmaf') },
    });
    const withVmaf = `${without} ... libvmaf           VV->V      Calculate the VMAF between two video streams.\n`;
    expect(availabilityFromFilterList(withVmaf).vmaf).toEqual({ available: true });
  });

  it('adds a third branch to the same filter graph, sampling with its own n_subsample', () => {
    const video = { width: 1920, height: 1080, pixFmt: 'yuv420p' };
    const graph = qualityFilterGraph({ distorted: video, reference: video, vmaf: true, vmafThreads: 4 });
    expect(graph).toContain('split=3[r0][r1][r2]');
    expect(graph).toContain(
      '[dv][r2]libvmaf=log_fmt=json:log_path=vmaf.json:n_threads=4:n_subsample=1:shortest=1',
    );
    expect(graph).not.toContain('scale=');
    // libvmaf's motion feature needs every frame: it samples itself, psnr/ssim get every n-th.
    const sampled = qualityFilterGraph({ distorted: video, reference: video, vmaf: true, subsample: 7 });
    expect(sampled).toContain('[dq]framestep=7,split=2[d0][d1]');
    expect(sampled).toContain(':n_subsample=7:');
    const small = { width: 640, height: 360, pixFmt: 'yuv420p10le' };
    expect(qualityFilterGraph({ distorted: small, reference: video, vmaf: false })).toMatch(
      /^\[0:v:0\]scale=1920:1080:flags=bicubic,format=yuv420p,settb=AVTB,setpts=PTS-STARTPTS,split=2\[d0\]\[d1\];/,
    );
  });

  it("reads libvmaf's JSON log with frame numbers from 1, as ffmpeg-quality-metrics does", () => {
    // The shape libvmaf 2.x writes with log_fmt=json.
    const log = {
      version: '2.3.1',
      fps: 25,
      frames: [
        {
          frameNum: 0,
          metrics: { integer_adm2: 0.98, integer_motion2: 0, integer_vif_scale0: 0.81, vmaf: 91.5 },
        },
        {
          frameNum: 1,
          metrics: { integer_adm2: 0.97, integer_motion2: 1.2, integer_vif_scale0: 0.8, vmaf: 89.25 },
        },
      ],
      pooled_metrics: { vmaf: { min: 89.25, max: 91.5, mean: 90.375, harmonic_mean: 90.36 } },
    };
    expect(parseVmafLog(JSON.stringify(log))).toEqual([
      { n: 1, integer_adm2: 0.98, integer_motion2: 0, integer_vif_scale0: 0.81, vmaf: 91.5 },
      { n: 2, integer_adm2: 0.97, integer_motion2: 1.2, integer_vif_scale0: 0.8, vmaf: 89.25 },
    ]);
    expect(() => parseVmafLog('{"version":"2"}')).toThrow('no frames');
  });
});

const measurement: QualityMeasurement = {
  psnr: [{ n: 1, mse_avg: 1, psnr_avg: 48.1 }],
  ssim: [{ n: 1, ssim_avg: 0.99 }],
  global: {
    psnr: { psnr_avg: { average: 48.1, median: 48.1, stdev: 0, min: 48.1, max: 48.1 } },
    ssim: { ssim_avg: { average: 0.99, median: 0.99, stdev: 0, min: 0.99, max: 0.99 } },
  },
  vmafStatus: { available: false, reason: 'no libvmaf' },
  ffmpegSummary: {},
  psnrCeilingDb: 100,
  frames: 1,
  mode: 'sampled',
  subsample: 10,
  elapsedMs: 12,
};

describe('records', () => {
  it('carry the AWS sample fields beside ffleet’s own', () => {
    const record = qualityRecord(
      measurement,
      {
        jobId: '7',
        jobName: 'clip',
        pool: 'intel',
        instanceType: 'c6i.large',
        referenceUrl: 's3://in/a.mp4',
        outputUrl: 's3://out/b.mp4',
      },
      new Date('2024-01-02T03:04:05Z'),
    );
    expect(record).toMatchObject({
      psnr: measurement.psnr,
      ssim: measurement.ssim,
      global: measurement.global,
      input_file_dist: 's3://out/b.mp4',
      input_file_ref: 's3://in/a.mp4',
      AWS_BATCH_JOB_ID: '7',
      AWS_BATCH_JQ_NAME: 'intel',
      AWS_BATCH_CE_NAME: 'c6i.large',
      ffleet: {
        job_name: 'clip',
        mode: 'sampled',
        subsample: 10,
        vmaf: { available: false, reason: 'no libvmaf' },
        created_at: '2024-01-02T03:04:05.000Z',
      },
    });
    expect(record).not.toHaveProperty('vmaf');
    // What is written is what readers accept: the record, as JSON, passes its schema in core.
    expect(compileCheck(QualityRecordSchema).problems(JSON.parse(JSON.stringify(record)))).toEqual([]);
  });

  it('time every stage and copy the quality averages', () => {
    const record = timingRecord({
      jobId: '7',
      jobName: 'clip',
      pool: 'intel',
      instanceType: 'c6i.large',
      state: 'succeeded',
      submittedAt: Date.parse('2024-01-02T03:00:00Z'),
      finishedAt: Date.parse('2024-01-02T03:04:05Z'),
      stagesMs: { queue: 500, download: 1000, ffmpeg: 20_000, upload: 800, quality: 3000, total: 24_800 },
      inputBytes: 10,
      outputBytes: 5,
      mediaDurationSeconds: 60,
      speed: 3,
      quality: measurement,
    });
    expect(record).toMatchObject({
      version: 1,
      attempt: 1,
      finished_at: '2024-01-02T03:04:05.000Z',
      stages_ms: { ffmpeg: 20_000, total: 24_800 },
      quality: { psnr: 48.1, ssim: 0.99, vmaf_unavailable: 'no libvmaf' },
    });
    expect(record.quality).not.toHaveProperty('vmaf', expect.anything());
    expect(compileCheck(TimingRecordSchema).problems(JSON.parse(JSON.stringify(record)))).toEqual([]);
  });

  it('are written through the job storage', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ffleet-records-'));
    try {
      const store = new FileStore(root);
      const url = parseStorageUrl(`file://${ffqmKey('intel', '7', new Date(0))}`, { allowFile: true });
      const bytes = await writeJsonRecord(
        store,
        url,
        { hello: 'world' },
        mkdtempSync(join(root, 'scratch-')),
      );
      expect(bytes).toBe(17);
      expect(
        JSON.parse(readFileSync(join(root, 'metrics/ffqm/year=1970/month=01/day=01/intel_7.json'), 'utf8')),
      ).toEqual({
        hello: 'world',
      });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
