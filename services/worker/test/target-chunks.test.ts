import { CRF_RANGES, type JobResult, type TargetPlan, type TargetQualityResult } from '@ffleet/core';
import { describe, expect, it } from 'vitest';
import { chunkedTargetResult } from '../src/target/chunks.ts';

const target: TargetPlan = {
  metric: 'ssim',
  min: 0.95,
  max: 0.96,
  encoder: 'libx264',
  range: CRF_RANGES.libx264!,
  fallbackCrf: 23,
};

function chunkResult(search: Partial<TargetQualityResult>): JobResult {
  return {
    outputs: [],
    timings: { download: 0, ffmpeg: 0, upload: 0, total: 0 },
    inputBytes: 0,
    worker: 'w',
    targetQuality: {
      metric: 'ssim',
      min: 0.95,
      max: 0.96,
      encoder: 'libx264',
      defaultCrf: 23,
      crf: 23,
      met: true,
      probes: [],
      reused: true,
      ...search,
    },
  };
}

describe("a chunked encode's target result", () => {
  it('lists the chunks in order from their own results, with the mean CRF and the size saved over all', () => {
    const results = new Map<string, unknown>([
      // BullMQ keys children by queue and id; the audio child has no search.
      [
        'p1-c1',
        chunkResult({
          crf: 30,
          score: 0.955,
          probes: [
            { crf: 23, score: 0.98, bytes: 1000 },
            { crf: 30, score: 0.955, bytes: 500 },
          ],
        }),
      ],
      ['p1-a', chunkResult({})],
      [
        'p1-c0',
        chunkResult({
          crf: 26,
          score: 0.951,
          probes: [
            { crf: 23, score: 0.97, bytes: 3000 },
            { crf: 26, score: 0.951, bytes: 2500 },
          ],
        }),
      ],
      ['other-c2', chunkResult({ crf: 50 })],
    ]);
    const result = chunkedTargetResult(target, 'p1', results);
    expect(result.chunks!.map((c) => [c.index, c.crf])).toEqual([
      [0, 26],
      [1, 30],
    ]);
    expect(result).toMatchObject({ crf: 28, met: true, reused: true, probes: [] });
    // (4000 - 3000) / 4000 bytes at the default CRF.
    expect(result.savedPercent).toBe(25);
    expect(result.fallback).toBeUndefined();
  });

  it('names the chunks that fell back', () => {
    const results = new Map<string, unknown>([
      ['p1-c0', chunkResult({})],
      ['p1-c1', chunkResult({ met: false, fallback: 'no probe reached ssim 0.95' })],
    ]);
    const result = chunkedTargetResult(target, 'p1', results);
    expect(result.met).toBe(false);
    expect(result.fallback).toBe('chunks 1 met no probe and were encoded at the fallback CRF 23');
  });
});
