/**
 * A ladder played in Debian's Chromium through `ffleet play`'s page, with hls.js or dash.js, as
 * a viewer's browser plays it: it must start, list its rungs, switch to another rung when asked,
 * play on, and show a picture.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { expect } from 'vitest';
import { startPlayServer } from '../../services/cli/src/play/server.ts';
import type { TestFleet } from './fleet.ts';

const run = promisify(execFile);
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** What the play page reports (its `window.ffleetPlayback`), with the video's clock. */
export interface Playback {
  /** The rungs the player offers, as labels (`360p 1200 kb/s`). */
  rungs: string[];
  /** Each offered rung's video codec string, as the player read it. */
  codecs: string[];
  /** The subtitle tracks the player offers, as labels. */
  subtitles: string[];
  playing: number;
  errors: string[];
  time: number;
  paused: boolean;
}

/** The players of `ffleet play`'s page: hls.js, dash.js, Shaka Player. */
export type Player = 'hls' | 'dash' | 'shaka';

/** What a page of the player shows; `evaluate` runs in the browser. */
interface PlayerPage {
  playback(): Promise<Playback>;
  until(what: string, ok: (p: Playback) => boolean, ms?: number): Promise<Playback>;
  page: import('playwright-core').Page;
  profile: string;
}

/** Opens `ffleet play`'s page on the ladder under `prefix` with `player` in Chromium, for `use`. */
async function withPlayer<T>(
  fleet: TestFleet,
  options: { prefix: string; player: Player },
  use: (player: PlayerPage) => Promise<T>,
): Promise<T> {
  const { player } = options;
  expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium package`).toBe(true);
  const server = await startPlayServer({ s3: fleet.s3, bucket: fleet.bucket, prefix: options.prefix });
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
    const playback = (): Promise<Playback> =>
      page.evaluate(() => {
        // The page's globals (this runs in the browser; the tests are typed without the DOM).
        const page = globalThis as unknown as {
          ffleetPlayback: {
            rungs: string[];
            codecs: string[];
            subtitles: string[];
            playing: number;
            errors: string[];
          };
          document: { querySelector(s: 'video'): { currentTime: number; paused: boolean } };
        };
        const state = page.ffleetPlayback;
        const video = page.document.querySelector('video');
        return { ...state, time: video.currentTime, paused: video.paused };
      });
    const until = async (what: string, ok: (p: Playback) => boolean, ms = 60_000) => {
      const deadline = Date.now() + ms;
      for (;;) {
        const now = await playback();
        expect(now.errors, what).toEqual([]);
        if (ok(now)) return now;
        if (Date.now() > deadline) throw new Error(`${player}: ${what}: ${JSON.stringify(now)}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    return await use({ playback, until, page, profile });
  } finally {
    await browser.close();
    await server.close();
    await rm(profile, { recursive: true, force: true });
  }
}

/**
 * Plays the ladder under `prefix` with `player`: it must offer `rungs` rungs, switch from the one
 * playing to the lowest (or the highest), play past `seconds`, and show a picture (a screenshot
 * with many grey levels and contrast, not a black or blank box). Returns what it offered.
 */
export async function checkPlayback(
  fleet: TestFleet,
  options: { prefix: string; player: Player; rungs: number; seconds: number },
): Promise<Playback> {
  return withPlayer(fleet, options, async ({ until, page, profile }) => {
    const started = await until(
      'playback starts',
      (p) => p.time > 1 && p.rungs.length === options.rungs && p.playing >= 0,
    );
    // Another rung than the one playing: the lowest, or the highest when the lowest plays.
    const target = started.playing === 0 ? options.rungs - 1 : 0;
    await page.evaluate(
      (i) => (globalThis as unknown as { ffleetSwitch(i: number): void }).ffleetSwitch(i),
      target,
    );
    const switched = await until('the player reports the new rung', (p) => p.playing === target);
    await until(
      `playback goes on past ${options.seconds} s`,
      (p) => p.time > Math.max(options.seconds, switched.time + 1) && !p.paused,
    );

    const png = join(profile, 'frame.png');
    await page.locator('video').screenshot({ path: png });
    // The screenshot's pixels, as grey levels: a picture has many levels, a black or blank box has one.
    const { stdout: gray } = await run(
      'ffmpeg',
      ['-v', 'error', '-i', png, '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1'],
      { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
    );
    const levels = new Set(gray);
    const mean = gray.reduce((s, v) => s + v, 0) / gray.length;
    const spread = Math.sqrt(gray.reduce((s, v) => s + (v - mean) ** 2, 0) / gray.length);
    expect(levels.size, 'grey levels in the screenshot').toBeGreaterThan(64);
    expect(spread, 'contrast in the screenshot').toBeGreaterThan(20);
    return started;
  });
}

/** The play page's globals that `playSubtitles` uses (the tests are typed without the DOM). */
interface PageGlobals {
  ffleetSubtitles(i: number): void;
  ffleetCues(): { start: number; end: number; text: string }[];
  document: {
    querySelector(s: 'video'): {
      currentTime: number;
      duration: number;
      ended: boolean;
      buffered: { length: number; start(i: number): number };
      play(): Promise<void>;
    };
  };
}

export interface SubtitlesSeen {
  /** The subtitle tracks the player offers, as labels. */
  tracks: string[];
  /** Each played track's cues, as the player put them on the video's timeline (seconds). */
  cues: { start: number; end: number; text: string }[][];
  /** Cues the player held twice at once (`start text`): a cue written into two segments, kept twice. */
  repeated: string[];
  /** Where the video's picture starts on that timeline. */
  videoStart: number;
}

/**
 * Plays the ladder under `prefix` with `player` once per subtitle track in `play` (a fresh page
 * each, the track chosen as soon as the player lists its `tracks`), that track showing, to the
 * end; returns the cues the player showed of each and where the picture starts.
 */
export async function playSubtitles(
  fleet: TestFleet,
  options: { prefix: string; player: Player; tracks: number; play: readonly number[] },
): Promise<SubtitlesSeen> {
  const seen: SubtitlesSeen = { tracks: [], cues: [], repeated: [], videoStart: Number.NaN };
  for (const track of options.play)
    await withPlayer(fleet, options, async ({ until, page }) => {
      const { subtitles } = await until(
        'the player lists the subtitle tracks',
        (p) => p.subtitles.length === options.tracks,
      );
      seen.tracks = subtitles;
      await page.evaluate((i) => {
        const browser = globalThis as unknown as PageGlobals;
        browser.ffleetSubtitles(i);
        const video = browser.document.querySelector('video');
        video.currentTime = 0;
        video.play().catch(() => {});
      }, track);
      // To the end, gathering the cues as they come: a player may keep only those near the playhead.
      const cues = new Map<string, { start: number; end: number; text: string }>();
      const deadline = Date.now() + 60_000;
      for (;;) {
        const now = await page.evaluate(() => {
          const page = globalThis as unknown as PageGlobals;
          const video = page.document.querySelector('video');
          return {
            cues: page.ffleetCues(),
            ended: video.ended || (video.duration > 0 && video.currentTime > video.duration - 0.3),
            videoStart: video.buffered.length > 0 ? video.buffered.start(0) : Number.NaN,
          };
        });
        const held = new Set<string>();
        for (const cue of now.cues) {
          const key = `${cue.start.toFixed(3)} ${cue.text}`;
          if (held.has(key) && !seen.repeated.includes(key)) seen.repeated.push(key);
          held.add(key);
          cues.set(key, cue);
        }
        if (now.ended) {
          seen.videoStart = now.videoStart;
          break;
        }
        if (Date.now() > deadline)
          throw new Error(`${options.player}: subtitle track ${track} did not play to the end`);
        await new Promise((r) => setTimeout(r, 200));
      }
      seen.cues.push([...cues.values()].sort((a, b) => a.start - b.start));
    });
  return seen;
}
