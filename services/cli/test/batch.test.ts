import type { JobView, LadderView } from '@ffleet/core';
import { describe, expect, it } from 'vitest';
import { batchFromFlags } from '../src/commands/batch.ts';
import { chunksText } from '../src/commands/watch.ts';
import { jobFromFlags, parseTarget } from '../src/program.ts';

describe('ffleet batch flags', () => {
  it('make a batch body: inputs as items, output patterns with their options, a folder to list', async () => {
    const body = await batchFromFlags(
      {
        name: 'proxies',
        compute: 'intel',
        inputOptions: '-ss 1',
        output: ['s3://b/out/{stem}.mp4'],
        outputOptions: ['-c:v libx264'],
        from: 's3://b/rushes/',
        suffix: '.mov',
        max: '50',
      },
      ['s3://b/in/a.mov'],
    );
    expect(body).toEqual({
      name: 'proxies',
      compute: 'intel',
      inputOptions: '-ss 1',
      items: ['s3://b/in/a.mov'],
      itemsFrom: { prefix: 's3://b/rushes/', suffix: '.mov', max: 50 },
      outputs: [{ url: 's3://b/out/{stem}.mp4', options: '-c:v libx264' }],
    });
  });
});

describe('ffleet submit --split', () => {
  it('asks for a chunked encode', async () => {
    const spec = await jobFromFlags({
      input: [],
      inputOptions: [],
      output: [],
      outputOptions: [],
      split: 10,
    });
    expect(spec.split).toEqual({ segmentSeconds: 10 });
  });

  it("shows chunks and frames done of total from the job view's pipeline", () => {
    const job = {
      pipeline: {
        kind: 'split',
        step: 'join',
        chunks: { total: 6, done: 4, running: 2, failed: 0 },
        frames: { done: 1200, total: 1800 },
        audio: 'done',
      },
    } as JobView;
    expect(chunksText(job)).toBe(' | chunks 4/6 | frames 1200/1800');
    expect(chunksText({} as JobView)).toBe('');
  });
});

describe('ffleet submit --previews and --ladder', () => {
  const flags = { input: [], inputOptions: [], output: [], outputOptions: [] };

  it('asks for previews, with the defaults or with JSON settings', async () => {
    expect((await jobFromFlags({ ...flags, previews: true })).previews).toEqual({});
    const spec = await jobFromFlags({ ...flags, previews: '{"animations": {"snippetSeconds": 10}}' });
    expect(spec.previews).toEqual({ animations: { snippetSeconds: 10 } });
    await expect(jobFromFlags({ ...flags, previews: '[1]' })).rejects.toThrow(/JSON object/);
    await expect(jobFromFlags({ ...flags, previews: '{nope' })).rejects.toThrow(/JSON object/);
  });

  it('asks for a ladder, with the defaults or with JSON settings', async () => {
    expect((await jobFromFlags({ ...flags, ladder: true })).ladder).toEqual({});
    const spec = await jobFromFlags({ ...flags, ladder: '{"codec": "hevc", "chunkSeconds": 30}' });
    expect(spec.ladder).toEqual({ codec: 'hevc', chunkSeconds: 30 });
    await expect(jobFromFlags({ ...flags, ladder: '"x"' })).rejects.toThrow(/--ladder takes a JSON object/);
  });

  it("shows a ladder's rungs, chunks and frames done of total", () => {
    const rung = { name: '360p-365k', width: 640, height: 360, bitrateKbps: 365, percent: 100 };
    const pipeline: LadderView = {
      kind: 'ladder',
      step: 'plan',
      rungs: [
        { ...rung, state: 'done' },
        { ...rung, name: '720p-3000k', state: 'running' },
      ],
      dropped: [],
      chunks: { total: 8, done: 5, running: 2, failed: 0 },
      frames: { done: 2000, total: 3000 },
      audio: 'done',
    };
    const job = { pipeline } as JobView;
    expect(chunksText(job)).toBe(' | rungs 1/2 | chunks 5/8 | frames 2000/3000');
  });

  it("shows sprite sheets and snippets done of total from the job view's pipeline", () => {
    const job = {
      pipeline: {
        kind: 'previews',
        step: 'plan',
        pictures: 2,
        sheets: { total: 2, done: 1, running: 1, failed: 0 },
        snippets: { total: 20, done: 7, running: 1, failed: 0 },
      },
    } as JobView;
    expect(chunksText(job)).toBe(' | sheets 1/2 | snippets 7/20');
  });
});

describe('ffleet submit --target', () => {
  it('asks for a quality target instead of a fixed CRF', async () => {
    const flags = { input: [], inputOptions: [], output: [], outputOptions: [] };
    expect((await jobFromFlags({ ...flags, target: parseTarget('vmaf:93-95') })).targetQuality).toEqual({
      metric: 'vmaf',
      min: 93,
      max: 95,
    });
    expect(parseTarget('ssim:0.96')).toEqual({ metric: 'ssim', min: 0.96 });
    expect(() => parseTarget('butteraugli:1')).toThrow(/metric:min/);
  });
});
