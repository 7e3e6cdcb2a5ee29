import { describe, expect, it } from 'vitest';
import {
  buildArgv,
  inputHardening,
  outputPath,
  planCommand,
  probeInputArgs,
  workLayout,
} from '../src/ffmpeg/command.ts';
import type { JobSpec } from '../src/jobs/spec.ts';

const layout = workLayout('/work/job-1');
const job = (over: Partial<JobSpec>): JobSpec => ({
  name: 'test',
  compute: 'intel',
  inputs: [{ url: 's3://media/in/source.mp4' }],
  outputs: [{ url: 's3://media/out/result.mp4' }],
  ...over,
});

describe('planCommand and buildArgv', () => {
  it('puts fixed hardening first and every path inside the work dir', () => {
    const plan = planCommand(
      job({
        globalOptions: '-y',
        inputs: [{ url: 's3://media/in/source.mp4', options: '-ss 10' }],
        outputs: [{ url: 's3://media/out/clip.mp4', options: '-t 15 -c copy' }],
      }),
    );
    const argv = buildArgv(plan, layout);
    expect(argv.slice(0, 7)).toEqual([
      '-hide_banner',
      '-nostdin',
      '-y',
      '-nostats',
      '-progress',
      'pipe:1',
      '-y',
    ]);
    const i = argv.indexOf('-i');
    expect(argv.slice(7, 9)).toEqual(['-ss', '10']);
    expect(argv[argv.indexOf('-protocol_whitelist') + 1]).toBe('file,pipe');
    const whitelist = argv[argv.indexOf('-format_whitelist') + 1]!.split(',');
    expect(whitelist).toContain('mov');
    expect(whitelist).not.toContain('hls');
    expect(whitelist).not.toContain('concat');
    expect(argv[i + 1]).toBe('/work/job-1/in/0/source.mp4');
    expect(argv.slice(i + 2)).toEqual(['-t', '15', '-c', 'copy', '/work/job-1/out/0/clip.mp4']);
    expect(outputPath(plan, layout, 0)).toBe('/work/job-1/out/0/clip.mp4');
  });

  it('keeps the parsed options in the plan', () => {
    const plan = planCommand(
      job({ outputs: [{ url: 's3://media/o.mkv', options: '-f matroska -c:v copy' }] }),
    );
    expect(plan.outputs[0]!.muxer).toBe('matroska');
    expect(plan.outputs[0]!.options.map((o) => o.name)).toEqual(['f', 'c']);
  });

  it('places output file names in the output folder and pass logs in the work dir', () => {
    const plan = planCommand(
      job({
        outputs: [
          {
            url: 's3://media/out/hls/',
            options: '-c:v libx264 -pass 1 -passlogfile pass -f hls -hls_segment_filename seg_%03d.ts',
          },
        ],
      }),
    );
    const argv = buildArgv(plan, layout);
    expect(argv[argv.indexOf('-hls_segment_filename') + 1]).toBe('/work/job-1/out/0/seg_%03d.ts');
    expect(argv[argv.indexOf('-passlogfile') + 1]).toBe('/work/job-1/pass');
    expect(argv.at(-1)).toBe('/work/job-1/out/0/index.m3u8');
    // The plan itself keeps the names as written.
    expect(plan.outputs[0]!.args).toContain('seg_%03d.ts');
  });

  it('marks list inputs and lets their demuxer through the whitelist, with safe off for rewritten concat lists', () => {
    const plan = planCommand(
      job({
        inputs: [
          { url: 's3://media/in/list.txt', options: '-f concat' },
          { url: 's3://media/in/a.mp4' },
          { url: 's3://media/in/b.mp4' },
        ],
        outputs: [{ url: 's3://media/out/joined.mp4', options: '-map 0 -c copy' }],
      }),
    );
    expect(plan.inputs.map((i) => i.list)).toEqual(['concat', undefined, undefined]);
    const argv = buildArgv(plan, layout);
    const first = argv.indexOf('-format_whitelist');
    expect(argv[first + 1]!.split(',')[0]).toBe('concat');
    expect(argv.slice(first + 2, first + 6)).toEqual(['-safe', '0', '-i', '/work/job-1/in/0/list.txt']);
    expect(argv.filter((a) => a === '-safe')).toHaveLength(1);
  });

  it('gives ffprobe the same input hardening as ffmpeg', () => {
    const plan = planCommand(
      job({
        inputs: [
          { url: 's3://media/in/list.txt', options: '-f concat -ss 3' },
          { url: 's3://media/in/a.mp4' },
        ],
      }),
    );
    expect(probeInputArgs(plan, layout, 0)).toEqual([
      '-f',
      'concat',
      ...inputHardening(plan.inputs[0]!),
      '-i',
      '/work/job-1/in/0/list.txt',
    ]);
    expect(inputHardening(plan.inputs[0]!)).toContain('-safe');
    expect(probeInputArgs(plan, layout, 1)).toEqual([
      ...inputHardening(plan.inputs[1]!),
      '-i',
      '/work/job-1/in/1/a.mp4',
    ]);
    expect(() => probeInputArgs(plan, layout, 2)).toThrow(RangeError);
  });

  it('names local files after the URL, keeping the extension and dropping anything unsafe', () => {
    const plan = planCommand(
      job({
        inputs: [
          { url: 's3://media/in/my video (1).mov' },
          { url: 's3://media/in/..hidden.mp4' },
          { url: `s3://media/in/${'x'.repeat(200)}.mkv` },
        ],
      }),
    );
    expect(plan.inputs.map((i) => i.localName)).toEqual(['my_video__1_.mov', 'hidden.mp4', 'input2.mkv']);
  });

  it('derives the folder file from the muxer or the filename', () => {
    const folder = (options: string, filename?: string) =>
      planCommand(
        job({ outputs: [{ url: 's3://media/out/f/', options, ...(filename ? { filename } : {}) }] }),
      ).outputs[0]!.localName;
    expect(folder('-f hls')).toBe('index.m3u8');
    expect(folder('-f dash')).toBe('manifest.mpd');
    expect(folder('-f image2 -vf fps=1')).toBe('frame-%05d.jpg');
    expect(folder('-vf fps=1', 'thumb-%03d.png')).toBe('thumb-%03d.png');
    expect(() => folder('-c copy')).toThrow(/is a folder: give "filename"/);
    expect(() => folder('-f hls', '../index.m3u8')).toThrow(/must be a plain file name/);
    expect(() => folder('-f hls', '/etc/passwd')).toThrow(/must be a plain file name/);
  });

  it('refuses multi-file muxers on a single-file output, and folder inputs', () => {
    expect(() => planCommand(job({ outputs: [{ url: 's3://media/out/index.m3u8' }] }))).toThrow(
      /writes several files/,
    );
    expect(() =>
      planCommand(job({ outputs: [{ url: 's3://media/out/x.ts', options: '-f segment' }] })),
    ).toThrow(/writes several files/);
    expect(() => planCommand(job({ outputs: [{ url: 's3://media/o.mp4', filename: 'x.mp4' }] }))).toThrow(
      /filename is only for folder outputs/,
    );
    expect(() => planCommand(job({ inputs: [{ url: 's3://media/in/' }] }))).toThrow(/inputs must be objects/);
  });

  it('applies the bucket allow-list to every URL', () => {
    const policy = { allowedBuckets: ['media'] };
    expect(() => planCommand(job({}), policy)).not.toThrow();
    expect(() => planCommand(job({ outputs: [{ url: 's3://other/o.mp4' }] }), policy)).toThrow(
      /bucket "other" is not in this fleet's allowed buckets/,
    );
  });
});

describe("a job's log level", () => {
  /** What ffmpeg ends up with: the last -v or -loglevel value of the global options. */
  const levelOf = (globalOptions: string) => {
    const argv = buildArgv(planCommand(job({ globalOptions })), layout);
    const global = argv.slice(0, argv.indexOf('-i'));
    const at = Math.max(global.lastIndexOf('-v'), global.lastIndexOf('-loglevel'));
    return at < 0 ? undefined : global[at + 1];
  };

  it('is raised to error when below it, so the worker can still read why ffmpeg failed', () => {
    for (const quiet of [
      '-v quiet',
      '-loglevel panic',
      '-v fatal',
      '-v 8',
      '-v -8',
      '-loglevel repeat+level+quiet',
    ])
      expect(levelOf(quiet), quiet).toBe('error');
  });

  it('is kept when it is error or louder, or only sets flags', () => {
    expect(levelOf('-v error')).toBe('error');
    expect(levelOf('-v warning')).toBe('warning');
    expect(levelOf('-loglevel level+debug')).toBe('level+debug');
    expect(levelOf('-v 24')).toBe('24');
    expect(levelOf('-loglevel repeat')).toBe('repeat');
    expect(levelOf('-y')).toBeUndefined();
  });
});
