/**
 * Previews children read pieces, not the source: on real media, every child's frames read from
 * its piece (cut by the parent's argv, sought with the child's own input options) are the
 * source's frames of its span, pixel for pixel and timestamp for timestamp. The reference
 * decodes the whole source and trims the span, with no seeking at all.
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ffmpegOutput,
  type JobSpec,
  PoolRegistry,
  type PreviewsSpan,
  piecesRead,
  planPreviews,
  previewsPieceArgs,
  previewsSettings,
  sheetJobSpec,
  sheetSpan,
  snippetJobSpec,
  snippets,
  spriteSheets,
  tokenize,
  validateJob,
} from '@ffleet/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyseFile, ffmpeg, ffmpegArgv, packets } from '../../../test/support/media.ts';

const pools = PoolRegistry.load();
const policy = { allowedBuckets: ['media'] };
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ffleet-pieces-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const SECONDS = 9;
/** Every frame different, so a frame from the wrong time cannot match. */
const PICTURE = `testsrc2=size=160x96:rate=25:duration=${SECONDS}`;
const X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];

/** The frames the children compare: each child's own turn, then a fixed rate and size. */
const COMPARED = 'fps=10,scale=64:40';

async function framemd5(args: string[]): Promise<string[]> {
  const out = await ffmpegOutput('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', ...args], {
    timeoutMs: 120_000,
  });
  return out.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

/**
 * Plans previews of `source` (GIF snippets of 2 s, sheets of 4 tiles a second), cuts every
 * child's piece and returns, per child, the frames read from the piece and from the source.
 */
async function readEveryChild(source: string, name: string) {
  const media = await analyseFile(source);
  const video = media.video!;
  const { spec, plan: command } = validateJob(
    {
      name,
      compute: 'intel',
      inputs: [{ url: `s3://media/in/${name}` }],
      outputs: [{ url: 's3://media/out/' }],
      previews: {
        poster: false,
        sprite: { intervalSeconds: 1, columns: 2, rows: 2 },
        animations: { snippetSeconds: 2, formats: ['gif'] },
      },
    },
    pools,
    policy,
  );
  const plan = planPreviews(
    previewsSettings(spec.previews!),
    {
      ...video,
      durationSeconds: video.endSeconds - video.startSeconds,
      lastFrameSeconds: video.frameTimes.at(-1)! - video.startSeconds,
    },
    's3://media/out/',
    's3://media/ffleet-scratch/job/',
  );
  const read = piecesRead(command, video);
  const children: { label: string; span: PreviewsSpan; child: JobSpec }[] = [
    ...spriteSheets(plan).map((s) => ({
      label: `sheet ${s.index}`,
      span: sheetSpan(s),
      child: sheetJobSpec(spec, plan, s, read),
    })),
    ...snippets(plan).map((s) => ({
      label: `snippet ${s.index}`,
      span: s,
      child: snippetJobSpec(spec, plan, s, read),
    })),
  ];
  const results = [];
  for (const [i, { label, span, child }] of children.entries()) {
    expect(() => validateJob(child, pools, policy), label).not.toThrow();
    const piece = join(dir, `${name}-${i}.nut`);
    await ffmpegArgv(previewsPieceArgs(['-i', source], video, span, piece));
    const before = read.before ? `${read.before},` : '';
    const fromPiece = await framemd5([
      ...tokenize(child.inputs[0]!.options),
      ...['-i', piece, '-map', '0:v:0', '-vf', `${before}${COMPARED}`, '-f', 'framemd5', '-'],
    ]);
    const start = (video.startSeconds + span.startSeconds).toFixed(6);
    const end = (video.startSeconds + span.startSeconds + span.durationSeconds).toFixed(6);
    const fromSource = await framemd5([
      ...['-copyts', '-i', source, '-map', '0:v:0'],
      ...['-vf', `trim=start=${start}:end=${end},setpts=PTS-${start}/TB,${COMPARED}`, '-f', 'framemd5', '-'],
    ]);
    results.push({ label, span, fromPiece, fromSource, pieceBytes: (await stat(piece)).size });
  }
  const seconds = video.endSeconds - video.startSeconds;
  return { results, seconds, sourceBytes: (await stat(source)).size };
}

async function expectSameFrames(source: string, name: string): Promise<void> {
  const { results, seconds, sourceBytes } = await readEveryChild(source, name);
  // A sheet of four 1 s tiles per 4 s, a snippet per 2 s.
  expect(results.length).toBe(Math.ceil(seconds / 4) + Math.ceil(seconds / 2));
  for (const r of results) {
    expect(r.fromSource.length, r.label).toBeGreaterThan(0);
    expect(r.fromPiece, r.label).toEqual(r.fromSource);
  }
  // A piece holds its span from the clean keyframe before it, not the whole source.
  expect(results.at(-1)!.pieceBytes).toBeLessThan(sourceBytes * 0.75);
}

/** An MP4 with audio and two B-frames between references, a keyframe every second. */
async function bFramesMp4(name: string): Promise<string> {
  const file = join(dir, name);
  await ffmpeg([
    ...['-f', 'lavfi', '-i', PICTURE, '-f', 'lavfi', '-i', `sine=duration=${SECONDS}`],
    ...X264,
    ...['-g', '25', '-bf', '2', '-c:a', 'aac', file],
  ]);
  return file;
}

describe('previews pieces give each child exactly its span', { timeout: 240_000 }, () => {
  it('an MP4 with B-frames starting at 0 (its first decode times are negative)', async () => {
    const file = await bFramesMp4('bframes.mp4');
    await expectSameFrames(file, 'bframes.mp4');
  });

  it('an MPEG-TS whose video starts at 2.8 s, after its audio', async () => {
    const mp4 = await bFramesMp4('for-ts.mp4');
    const file = join(dir, 'late.ts');
    await ffmpeg(['-i', mp4, '-c', 'copy', '-output_ts_offset', '1.4', '-f', 'mpegts', file]);
    const video = (await analyseFile(file)).video!;
    expect(video.startSeconds).toBeGreaterThan(2);
    await expectSameFrames(file, 'late.ts');
  });

  it('a Matroska file with open GOPs at 29.97 fps (most keyframes are not clean)', async () => {
    // Two encodes joined: each starts clean, and inside each an open GOP every 40 frames.
    const x264 = [...X264, '-x264-params', 'keyint=40:open-gop=1', '-bf', '3'];
    const picture = ['-f', 'lavfi', '-i', PICTURE.replace('rate=25', 'rate=30000/1001')];
    await ffmpeg([...picture, '-t', '4.5', ...x264, join(dir, 'first.mkv')]);
    await ffmpeg([...picture, '-ss', '4.5', ...x264, join(dir, 'second.mkv')]);
    await writeFile(join(dir, 'halves.txt'), 'file first.mkv\nfile second.mkv\n');
    const file = join(dir, 'open.mkv');
    await ffmpeg(['-f', 'concat', '-i', join(dir, 'halves.txt'), '-c', 'copy', file]);
    const keyframes = (await packets(file, 'v:0')).filter((p) => p.key).length;
    const clean = (await analyseFile(file)).video!.keyframes.length;
    expect(clean).toBe(2);
    expect(keyframes).toBeGreaterThan(clean);
    await expectSameFrames(file, 'open.mkv');
  });

  it('a variable frame rate MP4', async () => {
    const file = join(dir, 'vfr.mp4');
    await ffmpeg([
      ...['-f', 'lavfi', '-i', PICTURE.replace('rate=25', 'rate=30')],
      ...['-vf', "setpts='N/30/TB+0.3*floor(N/20)/TB'", '-fps_mode', 'vfr'],
      ...X264,
      ...['-g', '30', '-bf', '2', file],
    ]);
    expect((await analyseFile(file)).video!.variableFrameRate).toBe(true);
    await expectSameFrames(file, 'vfr.mp4');
  });

  it('a rotated MP4, turned upright as reading the source turns it', async () => {
    const plain = join(dir, 'unrotated.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', PICTURE, ...X264, '-g', '25', '-bf', '2', plain]);
    const file = join(dir, 'rotated.mp4');
    await ffmpeg(['-i', plain, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', file]);
    expect((await analyseFile(file)).video!.rotation).not.toBe(0);
    await expectSameFrames(file, 'rotated.mp4');
  });
});
