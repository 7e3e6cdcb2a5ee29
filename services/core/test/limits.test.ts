import { describe, expect, it } from 'vitest';
import { buildArgv, planCommand, workLayout } from '../src/ffmpeg/command.ts';
import { type FfmpegLimits, limitPlan, NO_LIMITS } from '../src/ffmpeg/limits.ts';
import type { JobSpec } from '../src/jobs/spec.ts';

const layout = workLayout('/work/job-1');
const limits: FfmpegLimits = {
  memoryBytes: 0,
  maxAllocBytes: 512 << 20,
  threads: 2,
  maxOutputPixels: 8_294_400,
};
const job = (over: Partial<JobSpec>): JobSpec => ({
  name: 'test',
  compute: 'intel',
  inputs: [{ url: 's3://media/in/source.mp4' }],
  outputs: [{ url: 's3://media/out/result.mp4' }],
  ...over,
});

/** Values of every `name` option in argv, in order. */
const valuesOf = (argv: string[], name: RegExp) =>
  argv.flatMap((arg, i) => (name.test(arg) ? [argv[i + 1]] : []));

describe('limitPlan and buildArgv with limits', () => {
  it('gives every input and output the thread cap and every output the frame size limit', () => {
    const plan = planCommand(
      job({
        inputs: [{ url: 's3://media/in/a.mp4' }, { url: 's3://media/in/b.mp4' }],
        outputs: [
          { url: 's3://media/out/a.mp4', options: '-c:v libx264' },
          { url: 's3://media/out/b.mp4', options: '-c:v libx264' },
        ],
      }),
    );
    const argv = buildArgv(plan, layout, limits);
    expect(valuesOf(argv, /^-threads$/)).toEqual(['2', '2', '2', '2']);
    expect(valuesOf(argv, /^-max_pixels$/)).toEqual(['8294400', '8294400']);
    expect(valuesOf(argv, /^-filter(_complex)?_threads$/)).toEqual(['2', '2']);
    expect(valuesOf(argv, /^-max_alloc$/)).toEqual([String(512 << 20)]);
    // Each input's cap comes before its -i; each output's options sit between its cap and its -max_pixels.
    const inputs = argv.flatMap((a, i) => (a === '-i' ? [i] : []));
    expect(argv.slice(inputs[0]! - 8, inputs[0])).toContain('-threads');
    const out = argv.indexOf('/work/job-1/out/0/a.mp4');
    expect(argv.slice(out - 6, out)).toEqual(['-threads', '2', '-c:v', 'libx264', '-max_pixels', '8294400']);
  });

  it("lowers a job's own thread counts above the cap, auto and 0 included, and keeps lower ones", () => {
    const plan = planCommand(
      job({
        globalOptions: '-filter_complex_threads 64',
        inputs: [{ url: 's3://media/in/a.mp4', options: '-threads 0' }],
        outputs: [
          {
            url: 's3://media/out/a.mp4',
            options: '-filter_threads 16 -c:v libx264 -threads:v 16 -threads:a 1 -threads auto -crf 20',
          },
        ],
      }),
    );
    const argv = buildArgv(plan, layout, limits);
    expect(valuesOf(argv, /^-threads(:.*)?$/)).toEqual(['2', '2', '2', '2', '1', '2']);
    expect(valuesOf(argv, /^-filter(_complex)?_threads$/)).toEqual(['2', '2', '2', '2']);
    expect(valuesOf(argv, /^-crf$/)).toEqual(['20']);
    // The parsed options say the same, for whoever rebuilds options from them.
    const limited = limitPlan(plan, limits);
    expect(limited.outputs[0]!.options.filter((o) => o.name === 'threads').map((o) => o.value)).toEqual([
      '2',
      '1',
      '2',
    ]);
    expect(plan.outputs[0]!.options.find((o) => o.token === '-threads:v')?.value).toBe('16');
  });

  it("lets a job's own lower thread counts win: the cap comes before them in each scope", () => {
    const plan = planCommand(
      job({
        globalOptions: '-filter_threads 1',
        inputs: [{ url: 's3://media/in/a.mp4', options: '-threads 1' }],
        outputs: [{ url: 's3://media/out/a.mp4', options: '-c:v libx264 -threads 1 -c:a aac' }],
      }),
    );
    const argv = buildArgv(plan, layout, limits);
    const input = argv.indexOf('-i');
    const output = argv.indexOf('/work/job-1/out/0/a.mp4');
    // ffmpeg takes the last value given in a scope: the job's 1 everywhere it set one.
    expect(valuesOf(argv.slice(0, input), /^-filter_threads$/).at(-1)).toBe('1');
    expect(valuesOf(argv.slice(0, input), /^-threads$/).at(-1)).toBe('1');
    expect(valuesOf(argv.slice(input, output), /^-threads$/).at(-1)).toBe('1');
    // Where the job set none, the cap applies.
    expect(valuesOf(argv.slice(0, input), /^-filter_complex_threads$/)).toEqual(['2']);
  });

  it('lowers thread counts inside encoder parameter strings and leaves the other parameters', () => {
    const plan = planCommand(
      job({
        outputs: [
          {
            url: 's3://media/out/a.mp4',
            options:
              '-c:v libx264 -x264-params threads=16:lookahead-threads=1:keyint=48 -x265-params pools=+:frame-threads=8 -svtav1-params lp=32:scd=0',
          },
        ],
      }),
    );
    const argv = buildArgv(plan, layout, limits);
    expect(valuesOf(argv, /^-x264-params$/)).toEqual(['threads=2:lookahead-threads=1:keyint=48']);
    expect(valuesOf(argv, /^-x265-params$/)).toEqual(['pools=2:frame-threads=2']);
    expect(valuesOf(argv, /^-svtav1-params$/)).toEqual(['lp=2:scd=0']);
  });

  it('keeps the placed file names of an output in place', () => {
    const plan = planCommand(
      job({
        outputs: [
          {
            url: 's3://media/out/hls/',
            options: '-threads 8 -f hls -hls_segment_filename seg_%03d.ts',
          },
        ],
      }),
    );
    const argv = buildArgv(plan, layout, limits);
    expect(argv).toContain('/work/job-1/out/0/seg_%03d.ts');
    expect(valuesOf(argv, /^-threads$/)).toEqual(['2', '2', '2']);
  });

  it('adds nothing without limits', () => {
    const plan = planCommand(job({ outputs: [{ url: 's3://media/out/a.mp4', options: '-threads 16' }] }));
    expect(buildArgv(plan, layout, NO_LIMITS)).toEqual(buildArgv(plan, layout));
    expect(valuesOf(buildArgv(plan, layout), /^-threads$/)).toEqual(['16']);
    expect(buildArgv(plan, layout)).not.toContain('-max_pixels');
  });
});
