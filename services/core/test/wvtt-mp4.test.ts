import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeWvtt } from '../../../test/support/wvtt.ts';
import { cuesProblem } from '../src/pipelines/webvtt.ts';
import { wvttInit, wvttSampleBytes, wvttSegment } from '../src/pipelines/wvtt-mp4.ts';

const cue = (start: number, end: number, text: string, settings = '') => ({ start, end, settings, text });

describe('WebVTT in fragmented MP4 (read back by ffprobe)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ffleet-wvtt-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function probe(cues: Parameters<typeof wvttSegment>[0], seconds: number, language?: string) {
    const file = join(dir, 'track.mp4');
    await writeFile(file, Buffer.concat([wvttInit(language), wvttSegment(cues, seconds)]));
    return probeWvtt(file);
  }

  it('holds each span between cue starts and ends as a sample of the cues showing through it', async () => {
    const { stream, samples } = await probe(
      [cue(1.4, 2.4, 'Bonjour'), cue(2, 3, 'Deux\nlignes', 'line:10% align:start'), cue(5, 6.5, 'Später 🎬')],
      8,
      'fra',
    );
    expect(stream.codec_tag_string).toBe('wvtt');
    expect(stream.tags?.language).toBe('fra');
    expect(Number(stream.duration)).toBe(8);
    expect(samples.map(({ at, shows }) => [at, shows])).toEqual([
      [0, []],
      [1.4, ['Bonjour']],
      [2, ['Bonjour', 'Deux\nlignes [line:10% align:start]']],
      [2.4, ['Deux\nlignes [line:10% align:start]']],
      [3, []],
      [5, ['Später 🎬']],
      [6.5, []],
    ]);
  });

  it('counts the bytes of its samples before writing them', async () => {
    const cues = [cue(0, 9, 'under everything'), cue(1, 2, 'a'), cue(1.5, 4, 'b', 'line:0'), cue(3, 8, 'c')];
    const { samples } = await probe(cues, 10);
    expect(wvttSampleBytes(cues, 10)).toBe(samples.reduce((sum, s) => sum + s.size, 0));
    // A language that is not three letters is `und`.
    expect((await probe(cues, 10, 'en')).stream.tags?.language).toBe('und');
  });

  it('leaves out cues that overlap so much their samples would fill the bucket', () => {
    // Nested within one HLS segment, a millisecond apart: each cue shows through the samples of
    // all that start after it, so n cues make 2n samples of up to n cues, and little HLS text.
    const nested = Array.from({ length: 2000 }, (_, i) => cue(i / 1000, 6 - i / 1000, 'x'.repeat(20)));
    expect(wvttSampleBytes(nested, 6)).toBeGreaterThan(32 * 1024 * 1024);
    expect(cuesProblem(nested, 6)).toMatch(/^its cues would fill \d+ MiB of segments, more than 32$/);
    expect(cuesProblem(nested.slice(0, 200), 6)).toBeUndefined();
  });
});
