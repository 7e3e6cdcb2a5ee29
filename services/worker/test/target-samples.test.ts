import { describe, expect, it } from 'vitest';
import {
  MAX_SAMPLE_SHARE,
  MAX_SAMPLES,
  planSamples,
  SAMPLE_SECONDS,
  samplesArgv,
} from '../src/target/samples.ts';

describe('samples of a long input for a quality target’s probes', () => {
  it('probes a short input, or one of unknown length, whole', () => {
    expect(planSamples(undefined)).toBeUndefined();
    expect(planSamples(10)).toBeUndefined();
    expect(planSamples(47)).toBeUndefined();
  });

  it('cuts one sample in the middle of each equal part, covering at most its share of the input', () => {
    const samples = planSamples(120)!;
    expect(samples.map((s) => s.start)).toEqual([14, 44, 74, 104]);
    expect(samples.every((s) => s.duration === SAMPLE_SECONDS)).toBe(true);
    for (const seconds of [48, 120, 600, 7200]) {
      const planned = planSamples(seconds)!;
      expect(planned.length).toBeLessThanOrEqual(MAX_SAMPLES);
      expect(planned.length * SAMPLE_SECONDS).toBeLessThanOrEqual(seconds * MAX_SAMPLE_SHARE);
      expect(planned.at(-1)!.start + SAMPLE_SECONDS).toBeLessThanOrEqual(seconds);
    }
  });

  it('joins the samples, each seeked accurately with the job’s input options, into one lossless video', () => {
    const argv = samplesArgv(
      '/w/in/0/a.mp4',
      ['-protocol_whitelist', 'file,pipe'],
      planSamples(120)!,
      '/w/s.mkv',
    );
    expect(argv.filter((a) => a === '-i')).toHaveLength(4);
    expect(argv.join(' ')).toContain(
      '-ss 14.000000 -t 2.000000 -protocol_whitelist file,pipe -i /w/in/0/a.mp4',
    );
    expect(argv.join(' ')).toContain('concat=n=4:v=1:a=0[v]');
    expect(argv.join(' ')).toContain('-qp 0');
  });
});
