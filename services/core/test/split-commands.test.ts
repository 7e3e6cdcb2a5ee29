/**
 * A chunked encode at the command level, on real media: split → encode each chunk → encode
 * audio once → join, then the output is checked against the source with ffprobe.
 */
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import {
  audioJobSpec,
  buildArgv,
  type Chunk,
  chunkJobSpec,
  concatList,
  inputPath,
  type JobSpec,
  joinArgs,
  type MediaAnalysis,
  outputPath,
  PoolRegistry,
  planSplit,
  splitJobOf,
  splitScratch,
  splitSourceArgs,
  validateJob,
  workLayout,
} from '@ffleet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyseFile, ffmpeg, ffmpegArgv, packets, psnr } from '../../../test/support/media.ts';

const pools = PoolRegistry.load();
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ffleet-split-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * Runs a chunked encode the way the fleet does, in `work`: the parent's split, each chunk and
 * the audio as ordinary jobs (their specs validated again, their argv built by buildArgv, as
 * a worker would), then the parent's join. Returns the joined file, the analysis and the plan.
 */
async function chunkedEncode(
  source: string,
  outputOptions: string,
  segmentSeconds: number,
  work: string,
): Promise<{ output: string; media: MediaAnalysis; chunks: Chunk[] }> {
  const spec = {
    name: 'chunked',
    compute: 'intel',
    inputs: [{ url: 's3://media/source.mp4' }],
    outputs: [{ url: 's3://media/out.mp4', options: outputOptions }],
    split: { segmentSeconds },
  };
  const job = splitJobOf(spec, validateJob(spec, pools, {}).plan);
  const media = await analyseFile(source);
  const plan = planSplit(job, media, 's3://media/ffleet-scratch/job-1/');
  const local = (url: string) => join(work, 'scratch', url.slice(plan.scratch.length));
  await mkdir(join(work, 'scratch', 'pieces'), { recursive: true });
  await ffmpegArgv(
    splitSourceArgs(source, media, plan.chunks, {
      piecePattern: join(work, 'scratch', 'pieces', '%06d.nut'),
      audio: local(splitScratch.audioSource(plan)),
    }),
  );
  expect(await readdir(join(work, 'scratch', 'pieces'))).toHaveLength(plan.chunks.length);

  /** One child job: its input taken from scratch, its output put back there. */
  const runChild = async (childSpec: JobSpec, name: string) => {
    const { plan: childPlan } = validateJob(childSpec, pools, {});
    const layout = workLayout(join(work, name));
    await mkdir(layout.inputDir(0), { recursive: true });
    await mkdir(layout.outputDir(0), { recursive: true });
    await copyFile(local(childSpec.inputs[0]!.url), inputPath(childPlan, layout, 0));
    await ffmpegArgv(buildArgv(childPlan, layout));
    const target = local(childSpec.outputs[0]!.url);
    await mkdir(dirname(target), { recursive: true });
    await copyFile(outputPath(childPlan, layout, 0), target);
    return target;
  };
  for (const chunk of plan.chunks) {
    const encoded = await runChild(chunkJobSpec(job, media, plan, chunk), `chunk-${chunk.index}`);
    expect((await packets(encoded, 'v:0')).length).toBe(chunk.frames);
  }
  if (plan.audioStartSeconds !== undefined) await runChild(audioJobSpec(job, plan), 'audio');

  const listDir = join(work, 'scratch', 'chunks');
  await writeFile(
    join(listDir, 'list.ffconcat'),
    concatList(
      plan.chunks.map((chunk) => ({ file: basename(splitScratch.chunk(plan, chunk.index)), chunk })),
    ),
  );
  const output = join(work, 'out.mp4');
  await ffmpegArgv(
    joinArgs(job, plan, {
      list: join(listDir, 'list.ffconcat'),
      ...(plan.audioStartSeconds !== undefined ? { audio: local(splitScratch.audio(plan)) } : {}),
      output,
    }),
  );
  return { output, media, chunks: plan.chunks };
}

async function workDir(name: string): Promise<string> {
  const path = join(dir, name);
  await mkdir(path, { recursive: true });
  return path;
}

describe('a chunked encode (split, chunks, audio once, join)', () => {
  it('keeps every frame, the duration, A/V alignment and continuous audio, with a keyframe at each chunk start', {
    timeout: 180_000,
  }, async () => {
    const source = join(dir, 'source.mp4');
    await ffmpeg([
      ...['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=30'],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=30'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-pix_fmt', 'yuv420p'],
      ...['-c:a', 'aac', '-b:a', '128k', source],
    ]);
    const options = '-c:v libx264 -preset veryfast -crf 26 -c:a aac -b:a 96k -movflags +faststart';
    const { output, media, chunks } = await chunkedEncode(source, options, 10, await workDir('plain'));
    expect(chunks.map((c) => c.startSeconds)).toEqual([0, 10, 20]);

    const video = await packets(output, 'v:0');
    const audio = await packets(output, 'a:0');
    const frame = 1 / 25;
    expect(video).toHaveLength(media.video!.frameTimes.length);
    const videoEnd = video.at(-1)!.pts + video.at(-1)!.duration;
    expect(Math.abs(videoEnd - media.video!.endSeconds)).toBeLessThanOrEqual(frame);
    for (const chunk of chunks)
      expect(video.find((p) => Math.abs(p.pts - chunk.startSeconds) < 1e-3)?.key).toBe(true);
    // Audio and video start and end together, and audio packets follow each other without gap or overlap.
    expect(Math.abs(audio[0]!.pts - video[0]!.pts)).toBeLessThanOrEqual(frame);
    expect(Math.abs(audio.at(-1)!.pts + audio.at(-1)!.duration - videoEnd)).toBeLessThanOrEqual(frame);
    for (let i = 1; i < audio.length; i++)
      expect(Math.abs(audio[i]!.pts - (audio[i - 1]!.pts + audio[i - 1]!.duration))).toBeLessThan(1e-4);

    // The same encode in one piece scores the same against the source.
    const single = join(dir, 'single.mp4');
    await ffmpeg(['-i', source, ...options.split(' '), single]);
    const [chunked, whole] = await Promise.all([psnr(source, output), psnr(source, single)]);
    expect(Math.abs(chunked - whole)).toBeLessThanOrEqual(0.5);
  });

  it('keeps the timestamps of a variable-frame-rate source', { timeout: 120_000 }, async () => {
    const source = join(dir, 'vfr.mkv');
    await ffmpeg([
      ...['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=20'],
      ...['-vf', "select='lt(mod(n,10),7)'", '-fps_mode', 'vfr', '-c:v', 'libx264', '-preset', 'ultrafast'],
      ...['-g', '35', source],
    ]);
    const { output, media } = await chunkedEncode(
      source,
      '-c:v libx264 -preset veryfast',
      5,
      await workDir('vfr'),
    );
    expect(media.video!.variableFrameRate).toBe(true);
    const times = (await packets(output, 'v:0')).map((p) => p.pts);
    const expected = media.video!.frameTimes.map((t) => t - media.video!.startSeconds);
    expect(times).toHaveLength(expected.length);
    for (let i = 0; i < times.length; i++) expect(Math.abs(times[i]! - expected[i]!)).toBeLessThan(0.002);
  });

  it('keeps HDR colour tags, and a rotated source comes out upright like a single-pass encode', {
    timeout: 120_000,
  }, async () => {
    const hdr = join(dir, 'hdr.mp4');
    await ffmpeg([
      ...['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=12'],
      ...['-vf', 'setparams=color_primaries=bt2020:color_trc=smpte2084:colorspace=bt2020nc:range=tv'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-pix_fmt', 'yuv420p10le'],
      ...['-color_primaries', 'bt2020', '-color_trc', 'smpte2084', '-colorspace', 'bt2020nc', hdr],
    ]);
    const tagged = await chunkedEncode(
      hdr,
      '-c:v libx264 -preset veryfast -pix_fmt yuv420p10le',
      5,
      await workDir('hdr'),
    );
    expect(tagged.media.video!.colour).toMatchObject({ primaries: 'bt2020', transfer: 'smpte2084' });
    expect((await analyseFile(tagged.output)).video!.colour).toEqual(tagged.media.video!.colour);

    const plain = join(dir, 'upright.mp4');
    const rotated = join(dir, 'rotated.mp4');
    await ffmpeg([
      ...['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=12'],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-pix_fmt', 'yuv420p', plain],
    ]);
    await ffmpeg(['-i', plain, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', rotated]);
    const turned = await chunkedEncode(rotated, '-c:v libx264 -preset veryfast', 5, await workDir('rotated'));
    const single = join(dir, 'rotated-single.mp4');
    await ffmpeg(['-i', rotated, '-c:v', 'libx264', '-preset', 'veryfast', single]);
    const [chunked, whole] = await Promise.all([analyseFile(turned.output), analyseFile(single)]);
    expect([chunked.video!.width, chunked.video!.height, chunked.video!.rotation]).toEqual([240, 320, 0]);
    expect([whole.video!.width, whole.video!.height, whole.video!.rotation]).toEqual([240, 320, 0]);
    // Turned the same way: the two encodes match picture for picture.
    expect(await psnr(single, turned.output)).toBeGreaterThan(35);
  });
});
