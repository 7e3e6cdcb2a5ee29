/**
 * ABR ladders on a real fleet (Redis, S3 server, two worker processes, ffmpeg): a 720p source
 * becomes every rung of the default ladder that fits under it, packaged as HLS (fMP4) and
 * DASH. The outputs are read with real parsers (hls-parser, mpd-parser) and ffprobe.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { JobView } from '@ffleet/gateway';
import HLS from 'hls-parser';
import { parse as parseMpd } from 'mpd-parser';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlayServer } from '../../services/cli/src/play/server.ts';
import { finished, startFleet, type TestFleet, type WorkerProcess } from '../support/fleet.ts';
import { ffmpeg, packets } from '../support/media.ts';

const POOL = 'intel';
const run = promisify(execFile);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SECONDS = 14;
const RATE = 25;

let fleet: TestFleet;
let workers: WorkerProcess[] = [];
let sourceDuration: number;

beforeAll(async () => {
  fleet = await startFleet();
  const source = join(fleet.dir, 'source.mp4');
  // 720p with noise, so the rungs' bitrates are spent as on real footage and the source's is above every 720p rung.
  await ffmpeg([
    ...['-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=${RATE},noise=alls=12:allf=t`],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
    ...['-t', String(SECONDS), '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '18', '-g', '50'],
    ...['-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '96k', '-shortest', source],
  ]);
  const frames = await packets(source, 'v:0');
  sourceDuration = frames.at(-1)!.pts + frames.at(-1)!.duration - frames[0]!.pts;
  await fleet.put('inputs/source.mp4', source);
}, 180_000);

afterAll(async () => {
  await fleet?.stop();
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

function ladderJob(name: string, ladder: Record<string, unknown> = {}) {
  return {
    name,
    compute: POOL,
    inputs: [{ url: `s3://${fleet.bucket}/inputs/source.mp4` }],
    outputs: [{ url: `s3://${fleet.bucket}/out/${name}/` }],
    ladder: { preset: 'ultrafast', ...ladder },
  };
}

async function submit(body: unknown): Promise<string> {
  const { status, body: accepted } = await fleet.api<{ id: string; message?: string }>(
    'POST',
    '/v1/jobs',
    body,
  );
  expect(status, JSON.stringify(accepted)).toBe(202);
  return accepted.id;
}

async function keys(prefix: string): Promise<string[]> {
  const listed = await fleet.s3.send(new ListObjectsV2Command({ Bucket: fleet.bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key!);
}

const scratchPrefix = () => fleet.env.FFLEET_SCRATCH_PREFIX ?? 'ffleet-scratch';
const text = async (key: string) => (await fleet.get(key)).toString('utf8');

/** A media playlist's segments with their sizes, and the playlist itself. */
async function mediaPlaylist(base: string, uri: string) {
  const folder = `${base}${uri.slice(0, uri.lastIndexOf('/') + 1)}`;
  const playlist = HLS.parse(await text(`${base}${uri}`)) as HLS.types.MediaPlaylist;
  const segments = await Promise.all(
    playlist.segments.map(async (s) => ({
      duration: s.duration,
      bytes: (await fleet.get(`${folder}${s.uri}`)).length,
      uri: s.uri,
    })),
  );
  return { playlist, folder, segments };
}

function bandwidths(segments: { duration: number; bytes: number }[]) {
  const total = segments.reduce((s, x) => s + x.duration, 0);
  return {
    peak: Math.max(...segments.map((s) => (s.bytes * 8) / s.duration)),
    average: (segments.reduce((s, x) => s + x.bytes, 0) * 8) / total,
  };
}

describe('a ladder from a 720p source', () => {
  let id: string;
  let job: JobView;
  const base = 'out/ladder/';

  beforeAll(async () => {
    await useWorkers(2);
    id = await submit(ladderJob('ladder'));
    job = await fleet.waitFor<JobView>(id, finished, 600_000);
  }, 620_000);

  it('keeps every rung up to 720p and says why the 1080p ones went', () => {
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    const pipeline = job.pipeline!;
    expect(pipeline.kind).toBe('ladder');
    if (pipeline.kind !== 'ladder') return;
    expect(pipeline.rungs!.map((r) => `${r.width}x${r.height}@${r.bitrateKbps}`)).toEqual([
      '416x234@145',
      '640x360@365',
      '768x432@730',
      '768x432@1100',
      '960x540@2000',
      '1280x720@3000',
      '1280x720@4500',
    ]);
    expect(pipeline.rungs!.every((r) => r.state === 'done')).toBe(true);
    expect(pipeline.dropped).toEqual([
      { height: 1080, bitrateKbps: 6000, reason: 'taller than the source (720p)' },
      { height: 1080, bitrateKbps: 7800, reason: 'taller than the source (720p)' },
    ]);
    expect(pipeline.audio).toBe('done');
  });

  it('publishes an HLS master playlist whose variants declare what their segments measure', async () => {
    const master = HLS.parse(await text(`${base}master.m3u8`)) as HLS.types.MasterPlaylist;
    expect(master.isMasterPlaylist).toBe(true);
    const variants = master.variants.filter((v) => !v.isIFrameOnly);
    const iframes = master.variants.filter((v) => v.isIFrameOnly);
    expect(variants).toHaveLength(7);
    expect(iframes).toHaveLength(7);
    expect(variants.some((v) => v.resolution!.height >= 1080)).toBe(false);
    const audioRendition = variants[0]!.audio[0]!;
    const audio = await mediaPlaylist(base, audioRendition.uri!);
    const audioBandwidth = bandwidths(audio.segments);
    for (const v of variants) {
      // The source's aspect ratio, within the rounding to even widths.
      expect(Math.abs(v.resolution!.width / v.resolution!.height - 16 / 9)).toBeLessThan(
        2 / v.resolution!.height,
      );
      expect(v.codecs).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
      expect(v.frameRate).toBe(RATE);
      const { playlist, segments } = await mediaPlaylist(base, v.uri);
      // Apple's rules: every segment at most the target + 0.5 s; EXTINF adds up to the duration within a frame.
      for (const s of segments) expect(s.duration).toBeLessThanOrEqual(playlist.targetDuration + 0.5);
      expect(playlist.targetDuration).toBe(6);
      const sum = segments.reduce((t, s) => t + s.duration, 0);
      expect(Math.abs(sum - sourceDuration)).toBeLessThanOrEqual(1 / RATE);
      const measured = bandwidths(segments);
      const peak = measured.peak + audioBandwidth.peak;
      const average = measured.average + audioBandwidth.average;
      expect(Math.abs(v.bandwidth - peak) / peak, `${v.uri} BANDWIDTH`).toBeLessThanOrEqual(0.1);
      expect(
        Math.abs(v.averageBandwidth! - average) / average,
        `${v.uri} AVERAGE-BANDWIDTH`,
      ).toBeLessThanOrEqual(0.1);
      // The rung's own bitrate is about what was asked (the encoder's rate control, not ours).
      const kbps = Number(/-(\d+)k\//.exec(v.uri)![1]);
      expect(measured.average / 1000 / kbps).toBeGreaterThan(0.7);
      expect(measured.average / 1000 / kbps).toBeLessThan(1.3);
    }
  });

  it('has keyframes at the same timestamps in every rung, every 2 s, and I-frame playlists that point at them', async () => {
    const master = HLS.parse(await text(`${base}master.m3u8`)) as HLS.types.MasterPlaylist;
    const lists: number[][] = [];
    for (const v of master.variants.filter((x) => !x.isIFrameOnly)) {
      const { playlist, folder, segments } = await mediaPlaylist(base, v.uri);
      const parts = [await fleet.get(`${folder}${playlist.segments[0]!.map!.uri}`)];
      for (const s of segments) parts.push(await fleet.get(`${folder}${s.uri}`));
      const file = join(fleet.dir, `${v.resolution!.height}-${v.bandwidth}.mp4`);
      await writeFile(file, Buffer.concat(parts));
      const keyframes = (await packets(file, 'v:0'))
        .filter((p) => p.key)
        .map((p) => Math.round(p.pts * 1000));
      lists.push(keyframes);
    }
    expect(lists[0]).toEqual(
      Array.from({ length: Math.ceil(SECONDS / 2) }, (_, k) => k * 2000 + lists[0]![0]!),
    );
    for (const list of lists) expect(list).toEqual(lists[0]);

    for (const v of master.variants.filter((x) => x.isIFrameOnly)) {
      const { playlist, folder } = await mediaPlaylist(base, v.uri);
      expect(playlist.isIFrame).toBe(true);
      for (const s of playlist.segments) {
        const { length, offset } = s.byterange!;
        const bytes = (await fleet.get(`${folder}${s.uri}`)).subarray(offset!, offset! + length);
        expect(bytes.toString('latin1', 4, 8)).toBe('moof');
      }
    }
  });

  it('publishes a DASH MPD of 2 s segments with segment alignment declared', async () => {
    const xml = await text(`${base}manifest.mpd`);
    const manifest = parseMpd(xml, { manifestUri: `http://127.0.0.1/${base}manifest.mpd` });
    expect(manifest.playlists).toHaveLength(7);
    for (const p of manifest.playlists) {
      const durations = p.segments.map((s) => s.duration);
      expect(durations.slice(0, -1).every((d) => Math.abs(d - 2) < 1e-6)).toBe(true);
      expect(durations.at(-1)).toBeLessThanOrEqual(2);
      for (const s of p.segments.slice(0, 2)) expect(await fleet.exists(`${base}${s.uri}`)).toBe(true);
    }
    const adaptationSets = xml.match(/<AdaptationSet [^>]*>/g)!;
    expect(adaptationSets).toHaveLength(2);
    for (const set of adaptationSets) expect(set).toContain('segmentAlignment="true"');
    expect(Object.keys(manifest.mediaGroups.AUDIO.audio ?? {}).length).toBeGreaterThan(0);
  });

  for (const player of ['hls', 'dash'] as const)
    it(`plays in Chromium with ${player === 'hls' ? 'hls.js' : 'dash.js'}: starts, passes 10 s, switches rung, shows video`, {
      timeout: 180_000,
    }, async () => {
      expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium package`).toBe(true);
      const server = await startPlayServer({ s3: fleet.s3, bucket: fleet.bucket, prefix: base });
      const profile = await mkdtemp(join(fleet.dir, 'chromium-'));
      const browser = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        viewport: { width: 960, height: 600 },
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
          '--autoplay-policy=no-user-gesture-required',
        ],
      });
      try {
        const page = browser.pages()[0] ?? (await browser.newPage());
        await page.goto(`${server.url}?player=${player}`);
        const playback = () =>
          page.evaluate(() => {
            // The page's globals (this runs in the browser; the tests are typed without the DOM).
            const page = globalThis as unknown as {
              ffleetPlayback: { rungs: string[]; playing: number; errors: string[] };
              document: { querySelector(s: 'video'): { currentTime: number; paused: boolean } };
            };
            const state = page.ffleetPlayback;
            const video = page.document.querySelector('video');
            return { ...state, time: video.currentTime, paused: video.paused };
          });
        const until = async (
          what: string,
          ok: (p: Awaited<ReturnType<typeof playback>>) => boolean,
          ms = 60_000,
        ) => {
          const deadline = Date.now() + ms;
          for (;;) {
            const now = await playback();
            expect(now.errors, what).toEqual([]);
            if (ok(now)) return now;
            if (Date.now() > deadline) throw new Error(`${player}: ${what}: ${JSON.stringify(now)}`);
            await new Promise((r) => setTimeout(r, 250));
          }
        };
        const started = await until(
          'playback starts',
          (p) => p.time > 1 && p.rungs.length === 7 && p.playing >= 0,
        );
        // Another rung than the one playing: the lowest, or the highest when the lowest plays.
        const target = started.playing === 0 ? 6 : 0;
        await page.evaluate(
          (i) => (globalThis as unknown as { ffleetSwitch(i: number): void }).ffleetSwitch(i),
          target,
        );
        const switched = await until('the player reports the new rung', (p) => p.playing === target);
        await until(
          'playback goes on past 10 s',
          (p) => p.time > Math.max(10, switched.time + 1) && !p.paused,
        );

        const png = join(profile, 'frame.png');
        await page.locator('video').screenshot({ path: png });
        // The screenshot's pixels, as grey levels: a picture has many levels, a black or blank box has one.
        const { stdout: gray } = await run(
          'ffmpeg',
          ['-v', 'error', '-i', png, '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'],
          {
            encoding: 'buffer',
            maxBuffer: 64 * 1024 * 1024,
          },
        );
        const levels = new Set(gray);
        const mean = gray.reduce((s, v) => s + v, 0) / gray.length;
        const spread = Math.sqrt(gray.reduce((s, v) => s + (v - mean) ** 2, 0) / gray.length);
        expect(levels.size, 'grey levels in the screenshot').toBeGreaterThan(64);
        expect(spread, 'contrast in the screenshot').toBeGreaterThan(20);
      } finally {
        await browser.close();
        await server.close();
        await rm(profile, { recursive: true, force: true });
      }
    });

  it('leaves no scratch behind', async () => {
    expect(await keys(`${scratchPrefix()}/${id}/`)).toEqual([]);
  });
});

describe('a rung that fails for good', () => {
  it('fails the ladder with its error and publishes nothing', { timeout: 300_000 }, async () => {
    // A worker whose ffmpeg fails the 360p rung (queued first, the biggest), like a broken encoder would.
    const wrapper = join(fleet.dir, 'ffmpeg-failing-rung');
    await writeFile(
      wrapper,
      '#!/bin/sh\ncase "$*" in *scale=640:360*) echo "simulated encoder fault" >&2; exit 1;; esac\nexec ffmpeg "$@"\n',
      { mode: 0o755 },
    );
    await useWorkers(1, { FFMPEG_PATH: wrapper });
    const rungs = [
      { height: 234, bitrateKbps: 145 },
      { height: 360, bitrateKbps: 365 },
    ];
    const id = await submit(ladderJob('failing', { rungs }));
    const job = await fleet.waitFor<JobView>(id, finished, 240_000);
    expect(job.state).toBe('failed');
    expect(job.error).toMatchObject({ code: 'ffmpeg_failed' });
    expect(job.error!.message).toMatch(new RegExp(`^${id}-360p-365k failed: ffmpeg exited with code 1`));
    expect(job.error!.stderr).toContain('simulated encoder fault');
    expect(await keys('out/failing/')).toEqual([]);
    expect(await keys(`${scratchPrefix()}/${id}/`)).toEqual([]);
  });
});
