/**
 * Previews on a real fleet (Redis, S3 server, two worker processes, ffmpeg): a source whose
 * colour changes every second (so a picture's pixels say which second it shows) becomes
 * thumbnails, a poster, sprite sheets with a WebVTT track and animated GIF/WebP snippets.
 * Read back with a WebVTT parser, ffprobe and webpmux (ffprobe cannot read animated WebP).
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { JobView } from '@ffleet/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebVTTParser } from 'webvtt-parser';
import { failingFfmpeg, finished, startFleet, type TestFleet, type WorkerProcess } from '../support/fleet.ts';
import { ffmpeg } from '../support/media.ts';
import { LOCAL_WEBHOOKS, startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const POOL = 'intel';
const run = promisify(execFile);
const SECONDS = 12;
const RATE = 25;

/** The top half's colour in second k; the bottom half changes every frame (no two frames alike). */
const colourOf = (k: number) => [(k * 40) % 256, (k * 90) % 256, (k * 150) % 256];
const GEQ =
  "format=gbrp,geq=r='if(lt(Y,H/2),mod(floor(T)*40,256),mod(N*37,256))'" +
  ":g='if(lt(Y,H/2),mod(floor(T)*90,256),mod(N*53,256))'" +
  ":b='if(lt(Y,H/2),mod(floor(T)*150,256),mod(N*71,256))'";

let fleet: TestFleet;
let workers: WorkerProcess[] = [];
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  fleet = await startFleet({ env: LOCAL_WEBHOOKS });
  const source = join(fleet.dir, 'seconds.mp4');
  await ffmpeg([
    ...['-f', 'lavfi', '-i', `color=c=black:s=320x180:r=${RATE}:d=${SECONDS},${GEQ}`],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-pix_fmt', 'yuv420p', source],
  ]);
  await fleet.put('inputs/seconds.mp4', source);
}, 120_000);

afterAll(async () => {
  await fleet?.stop();
  await receiver?.close();
});

async function useWorkers(count: number, env: Record<string, string> = {}): Promise<void> {
  for (const w of workers) {
    w.child.kill('SIGKILL');
    await w.exited;
  }
  workers = [];
  for (let i = 0; i < count; i++)
    workers.push(await fleet.startWorker(POOL, { FFLEET_CONCURRENCY: '1', ...env }));
}

function previewsJob(name: string, previews: Record<string, unknown>, webhook?: { url: string }) {
  return {
    name,
    ...(webhook ? { webhook } : {}),
    compute: POOL,
    inputs: [{ url: `s3://${fleet.bucket}/inputs/seconds.mp4` }],
    outputs: [{ url: `s3://${fleet.bucket}/out/${name}/` }],
    previews,
  };
}

async function keys(prefix: string): Promise<string[]> {
  const listed = await fleet.s3.send(new ListObjectsV2Command({ Bucket: fleet.bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key!).sort();
}

/** Downloads an object of the output folder to a local file. */
async function local(key: string): Promise<string> {
  const file = join(fleet.dir, key.replaceAll('/', '_'));
  await writeFile(file, await fleet.get(key));
  return file;
}

/** The mean colour of a region of a picture, decoded by ffmpeg. */
async function colourAt(file: string, x: number, y: number, w: number, h: number): Promise<number[]> {
  const { stdout } = await run(
    'ffmpeg',
    [
      '-v',
      'error',
      '-i',
      file,
      '-vf',
      `crop=${w}:${h}:${x}:${y},scale=1:1`,
      '-f',
      'rawvideo',
      '-pix_fmt',
      'rgb24',
      '-',
    ],
    { encoding: 'buffer' },
  );
  return [...(stdout as Buffer).subarray(0, 3)];
}

/** Which second of the source a colour comes from (the nearest of the source's colours). */
function secondOf(colour: number[]): number {
  const distance = (k: number) => colourOf(k).reduce((s, c, i) => s + (c - colour[i]!) ** 2, 0);
  return Array.from({ length: SECONDS }, (_, k) => k).sort((a, b) => distance(a) - distance(b))[0]!;
}

async function ffprobe(file: string) {
  const { stdout } = await run('ffprobe', [
    ...['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-of', 'json'],
    ...['-show_entries', 'stream=width,height,nb_read_frames,codec_name:format=duration', file],
  ]);
  const json = JSON.parse(stdout) as {
    streams: { width: number; height: number; nb_read_frames?: string; codec_name: string }[];
    format: { duration?: string };
  };
  const stream = json.streams[0]!;
  return {
    codec: stream.codec_name,
    width: stream.width,
    height: stream.height,
    frames: Number(stream.nb_read_frames),
    duration: Number(json.format.duration),
  };
}

/** An animated WebP's canvas, frames and their summed duration, as webpmux reads them. */
async function webpInfo(file: string) {
  const { stdout } = await run('webpmux', ['-info', file]);
  const canvas = /Canvas size: (\d+) x (\d+)/.exec(stdout)!;
  const frames = [...stdout.matchAll(/^\s*\d+:\s+\d+\s+\d+\s+\S+\s+\d+\s+\d+\s+(\d+)/gm)].map((m) =>
    Number(m[1]),
  );
  return {
    width: Number(canvas[1]),
    height: Number(canvas[2]),
    frames: Number(/Number of frames: (\d+)/.exec(stdout)![1]),
    seconds: frames.reduce((s, ms) => s + ms, 0) / 1000,
  };
}

interface Manifest {
  source: { durationSeconds: number; width: number; height: number };
  thumbnails: {
    file: string;
    time: number;
    percent?: number;
    width: number;
    height: number;
    bytes: number;
  }[];
  poster: { file: string; time: number; width: number; height: number; bytes: number } | null;
  sprite: {
    vtt: string;
    vttBytes: number;
    tileWidth: number;
    tileHeight: number;
    sheets: { file: string; width: number; height: number; tiles: number; bytes: number }[];
  } | null;
  animations: {
    index: number;
    start: number;
    duration: number;
    fps: number;
    frames: number;
    width: number;
    height: number;
    files: { format: 'gif' | 'webp'; file: string; bytes: number }[];
  }[];
}

describe('previews of a 12 s source on two workers', () => {
  const base = 'out/previews/';
  let id: string;
  let job: JobView;
  let manifest: Manifest;

  beforeAll(async () => {
    await useWorkers(2);
    id = await fleet.submit(
      previewsJob(
        'previews',
        {
          thumbnails: { times: [0.5, 3.5, 7.25], percents: [40], width: 96 },
          poster: { width: 160, format: 'webp' },
          sprite: { intervalSeconds: 2, width: 64, columns: 2, rows: 2 },
          animations: { snippetSeconds: 5, fps: 10, width: 80 },
        },
        { url: receiver.url },
      ),
    );
    job = await fleet.waitFor<JobView>(id, finished, 240_000);
    manifest = JSON.parse((await fleet.get(`${base}manifest.json`)).toString('utf8')) as Manifest;
  }, 260_000);

  it('succeeds, its view counting the sheets and snippets made', () => {
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.pipeline).toEqual({
      kind: 'previews',
      step: 'manifest',
      pictures: 5,
      sheets: { total: 2, done: 2, running: 0, failed: 0 },
      snippets: { total: 3, done: 3, running: 0, failed: 0 },
    });
  });

  it('sends one job.succeeded webhook, for the job (not its children), listing every file made', async () => {
    await expect
      .poll(() => receiver.hooks.filter((h) => h.job.id === id).length, { timeout: 30_000 })
      .toBe(1);
    // Children are jobs of their own but never notify.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(receiver.hooks.filter((h) => h.job.id.startsWith(`${id}-`))).toEqual([]);
    const hook = receiver.hooks.find((h) => h.job.id === id)!;
    expect(hook.event).toBe('job.succeeded');
    const files = (hook.job.outputs?.[0]?.files ?? []).map((f) =>
      f.url.slice(f.url.indexOf(base) + base.length),
    );
    expect(files).toContain('manifest.json');
    expect(files).toContain('sprites.vtt');
    expect(files.filter((f) => f.startsWith('animations/'))).toHaveLength(manifest.animations.length * 2);
  });

  it('takes every thumbnail and the poster from the asked second', async () => {
    const asked = [0.5, 3.5, 7.25, 4.8]; // 40 % of 12 s
    expect(manifest.thumbnails.map((t) => t.time)).toEqual(asked);
    for (const [i, thumbnail] of manifest.thumbnails.entries()) {
      const file = await local(`${base}${thumbnail.file}`);
      const probed = await ffprobe(file);
      expect(probed).toMatchObject({ codec: 'mjpeg', width: 96, height: 54 });
      expect(secondOf(await colourAt(file, 0, 0, 96, 20)), thumbnail.file).toBe(Math.floor(asked[i]!));
    }
    expect(manifest.poster).toMatchObject({ file: 'poster.webp', time: 1.2, width: 160, height: 90 });
    const poster = await local(`${base}poster.webp`);
    expect(await ffprobe(poster)).toMatchObject({ codec: 'webp', width: 160, height: 90 });
    expect(secondOf(await colourAt(poster, 0, 0, 160, 30))).toBe(1);
  });

  it('writes a WebVTT track that parses, every cue inside its sheet and showing its time', async () => {
    const vtt = (await fleet.get(`${base}sprites.vtt`)).toString('utf8');
    const tree = new WebVTTParser().parse(vtt, 'metadata');
    expect(tree.errors).toEqual([]);
    expect(tree.cues).toHaveLength(SECONDS / 2);
    const sizes = new Map<string, { width: number; height: number; file: string }>();
    for (const [i, cue] of tree.cues.entries()) {
      expect(cue.startTime).toBeCloseTo(2 * i, 3);
      expect(cue.endTime).toBeCloseTo(Math.min(SECONDS, 2 * i + 2), 3);
      const match = /^(sprites\/\d+\.jpg)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(cue.text.trim());
      expect(match, cue.text).not.toBeNull();
      const [, sheet, x, y, w, h] = match!;
      if (!sizes.has(sheet!)) {
        const file = await local(`${base}${sheet}`);
        sizes.set(sheet!, { ...(await ffprobe(file)), file });
      }
      const image = sizes.get(sheet!)!;
      const [left, top, width, height] = [x, y, w, h].map(Number) as [number, number, number, number];
      expect(left + width, cue.text).toBeLessThanOrEqual(image.width);
      expect(top + height, cue.text).toBeLessThanOrEqual(image.height);
      expect(secondOf(await colourAt(image.file, left, top, width, Math.round(height / 3))), cue.text).toBe(
        2 * i,
      );
    }
    // Two sheets: four tiles in two rows, then two tiles in one row.
    expect([...sizes.values()].map((s) => [s.width, s.height])).toEqual([
      [128, 72],
      [128, 36],
    ]);
  });

  it('makes a GIF and a WebP per snippet whose frames and durations match the snippet', async () => {
    expect(manifest.animations.map((a) => [a.start, a.duration, a.frames])).toEqual([
      [0, 5, 50],
      [5, 5, 50],
      [10, 2, 20],
    ]);
    for (const snippet of manifest.animations) {
      const [gif, webp] = snippet.files;
      expect(gif!.format).toBe('gif');
      const probed = await ffprobe(await local(`${base}${gif!.file}`));
      expect(probed).toMatchObject({ codec: 'gif', width: 80, height: 46, frames: snippet.frames });
      expect(probed.duration).toBeCloseTo(snippet.duration, 2);
      expect(webp!.format).toBe('webp');
      const info = await webpInfo(await local(`${base}${webp!.file}`));
      expect(info).toMatchObject({ width: 80, height: 46, frames: snippet.frames });
      expect(info.seconds).toBeCloseTo(snippet.duration, 2);
    }
  });

  it('runs each child on its own piece of the source, and leaves no piece behind', async () => {
    const scratch = `${fleet.env.FFLEET_SCRATCH_PREFIX ?? 'ffleet-scratch'}/${id}/`;
    const child = (await fleet.api<JobView>('GET', `/v1/jobs/${id}-s1`)).body;
    expect(child.spec.inputs[0]!.url).toBe(`s3://${fleet.bucket}/${scratch}pieces/s00001.nut`);
    expect(await keys(scratch)).toEqual([]);
  });

  it('lists in its manifest exactly what is in the folder, with the right sizes', async () => {
    const files = [
      ...manifest.thumbnails.map((t) => [t.file, t.bytes] as const),
      [manifest.poster!.file, manifest.poster!.bytes] as const,
      [manifest.sprite!.vtt, manifest.sprite!.vttBytes] as const,
      ...manifest.sprite!.sheets.map((s) => [s.file, s.bytes] as const),
      ...manifest.animations.flatMap((a) => a.files.map((f) => [f.file, f.bytes] as const)),
    ];
    expect(await keys(base)).toEqual([...files.map(([f]) => `${base}${f}`), `${base}manifest.json`].sort());
    for (const [file, bytes] of files) expect((await fleet.get(`${base}${file}`)).length, file).toBe(bytes);
    expect(manifest.source).toEqual({ durationSeconds: SECONDS, width: 320, height: 180 });
    const folder = job.outputs![0]!;
    expect(folder.files!.map((f) => f.url)).toContain(`s3://${fleet.bucket}/${base}manifest.json`);
  });
});

describe('previews that cannot be made', () => {
  it('refuses bad specs with a 400 naming the problem', async () => {
    for (const [previews, reason] of [
      [{ thumbnails: { times: [-1] } }, /invalid/],
      [{ animations: { snippetSeconds: 100_000 } }, /invalid/],
      [{ sprite: { columns: 0 } }, /invalid/],
      [{ thumbnails: {} }, /at least one of times or percents/],
      [{ poster: false, sprite: false, animations: false }, /nothing would be made/],
    ] as const) {
      const { status, body } = await fleet.api<{ message: string }>(
        'POST',
        '/v1/jobs',
        previewsJob('bad', previews),
      );
      expect(status, JSON.stringify(previews)).toBe(400);
      expect(body.message).toMatch(reason);
    }
  });

  it('fails a time past the end before making anything', { timeout: 120_000 }, async () => {
    await useWorkers(1);
    const id = await fleet.submit(previewsJob('late', { thumbnails: { times: [30] } }));
    const job = await fleet.waitFor<JobView>(id, finished, 100_000);
    expect(job.state).toBe('failed');
    expect(job.error).toMatchObject({ code: 'time_out_of_range' });
    expect(job.error!.message).toMatch(/past the end of the video/);
    expect(await keys('out/late/')).toEqual([]);
  });

  it('fails with a snippet that fails for good, leaving no file and no manifest', {
    timeout: 200_000,
  }, async () => {
    // A worker whose ffmpeg fails the second snippet, like a broken encoder would.
    // Its seek is on its piece's timeline, where the video starts at 100 s.
    const wrapper = await failingFfmpeg(fleet.dir, 'ffmpeg-failing-snippet', '*"-ss 105 -t 5"*');
    await useWorkers(1, { FFMPEG_PATH: wrapper });
    const id = await fleet.submit({
      // One try: the failure is the point, not the retries.
      attempts: 1,
      ...previewsJob('failing', {
        thumbnails: { times: [1] },
        sprite: { intervalSeconds: 4 },
        animations: { snippetSeconds: 5, formats: ['gif'] },
      }),
    });
    const job = await fleet.waitFor<JobView>(id, finished, 180_000);
    expect(job.state).toBe('failed');
    expect(job.error).toMatchObject({ code: 'ffmpeg_failed' });
    expect(job.error!.message).toMatch(new RegExp(`^${id}-s1 failed: ffmpeg exited with code 1`));
    expect(job.error!.stderr).toContain('simulated encoder fault');
    expect(await keys('out/failing/')).toEqual([]);
    await expect
      .poll(() => keys(`${fleet.env.FFLEET_SCRATCH_PREFIX ?? 'ffleet-scratch'}/${id}/`), { timeout: 10_000 })
      .toEqual([]);
  });
});
