import { describe, expect, it } from 'vitest';
import { validateJob } from '../src/jobs/validate.ts';
import {
  piecesRead,
  planPreviews,
  previewsFiles,
  previewsManifest,
  previewsScratch,
  sheetJobSpec,
  snippetJobSpec,
  snippets,
  spriteSheets,
  spritesVtt,
} from '../src/pipelines/previews-plan.ts';
import { previewsSettings } from '../src/pipelines/previews-spec.ts';
import { PoolRegistry } from '../src/pools/registry.ts';

const policy = { allowedBuckets: ['media'] };
const pools = PoolRegistry.load();
const FOLDER = 's3://media/out/film/';
const SCRATCH = 's3://media/ffleet-scratch/job-1/';

function previewsJob(overrides: Record<string, unknown> = {}, previews: Record<string, unknown> = {}) {
  return {
    name: 'film',
    compute: 'intel',
    inputs: [{ url: 's3://media/in/film.mov' }],
    outputs: [{ url: FOLDER }],
    previews,
    ...overrides,
  };
}

function reasons(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    return ((error as { details?: { reasons?: string[] } }).details?.reasons ?? [String(error)]) as string[];
  }
  return [];
}

const source = { width: 1280, height: 720, rotation: 0, durationSeconds: 95 };

describe('previews jobs: validation', () => {
  it('takes an empty previews object: a poster, a sprite and GIF and WebP animations by default', () => {
    const { spec } = validateJob(previewsJob(), pools, policy);
    expect(previewsSettings(spec.previews!)).toEqual({
      poster: { percent: 10, format: 'jpeg' },
      sprite: { intervalSeconds: 10, width: 160, columns: 10, rows: 10, format: 'jpeg' },
      animations: { snippetSeconds: 30, fps: 10, width: 240, formats: ['gif', 'webp'] },
    });
  });

  it('refuses what a previews job cannot be, with every reason', () => {
    const found = reasons(() =>
      validateJob(
        previewsJob(
          {
            inputs: [{ url: 's3://media/a.mov' }, { url: 's3://media/b.mov' }],
            outputs: [{ url: 's3://media/out/film.mp4', options: '-c:v libx264' }],
            split: { segmentSeconds: 10 },
          },
          { thumbnails: {}, poster: { time: 3, percent: 5 }, sprite: false, animations: false },
        ),
        pools,
        policy,
      ),
    ).join('\n');
    expect(found).toMatch(/split/);
    expect(found).toMatch(/exactly one input/);
    expect(found).toMatch(/must be a folder/);
    expect(found).toMatch(/no options/);
    expect(found).toMatch(/at least one of times or percents/);
    expect(found).toMatch(/time or percent, not both/);
    expect(
      reasons(() =>
        validateJob(previewsJob({}, { poster: false, sprite: false, animations: false }), pools, policy),
      ).join(),
    ).toMatch(/nothing would be made/);
  });

  it('refuses sizes, counts, times and snippet lengths out of bounds, and unknown fields', () => {
    for (const previews of [
      { thumbnails: { times: [-1] } },
      { thumbnails: { times: [1e9] } },
      { thumbnails: { percents: [101] } },
      { thumbnails: { times: Array.from({ length: 101 }, (_, i) => i) } },
      { thumbnails: { times: [1], width: 15 } },
      { thumbnails: { times: [1], width: 321 } },
      { thumbnails: { times: [1], width: 100_000 } },
      { thumbnails: { times: [1], format: 'png' } },
      { thumbnails: { times: ['1; rm -rf /'] } },
      { sprite: { intervalSeconds: 0 } },
      { sprite: { intervalSeconds: 1.5 } },
      { sprite: { columns: 31 } },
      { sprite: { rows: 0 } },
      { sprite: { width: 2000 } },
      { animations: { snippetSeconds: 0 } },
      { animations: { snippetSeconds: 601 } },
      { animations: { fps: 60 } },
      { animations: { formats: [] } },
      { animations: { formats: ['gif', 'gif'] } },
      { animations: { formats: ['apng'] } },
      { animations: { filter: 'movie=/etc/passwd' } },
      { extra: true },
    ])
      expect(() => validateJob(previewsJob({}, previews), pools, policy), JSON.stringify(previews)).toThrow(
        /invalid/,
      );
  });

  it('refuses WebP on a pool whose FFmpeg lacks the WebP encoders', () => {
    const nvidia = pools.pools.find((p) => !p.encoders.includes('libwebp_anim'));
    expect(nvidia).toBeDefined();
    const found = reasons(() => validateJob(previewsJob({ compute: nvidia!.family }), pools, policy)).join();
    expect(found).toMatch(/WebP needs libwebp_anim/);
    const gifOnly = previewsJob({ compute: nvidia!.family }, { animations: { formats: ['gif'] } });
    expect(() => validateJob(gifOnly, pools, policy)).not.toThrow();
  });

  it('writes child jobs that pass the same checks as any job, each reading its own piece', () => {
    const { spec, plan: command } = validateJob(
      previewsJob({}, { sprite: { format: 'webp' }, thumbnails: { times: [1] } }),
      pools,
      policy,
    );
    const plan = planPreviews(previewsSettings(spec.previews!), source, FOLDER, SCRATCH);
    const read = piecesRead(command, { rotation: 0 });
    for (const sheet of spriteSheets(plan))
      expect(() => validateJob(sheetJobSpec(spec, plan, sheet, read), pools, policy)).not.toThrow();
    for (const snippet of snippets(plan))
      expect(() => validateJob(snippetJobSpec(spec, plan, snippet, read), pools, policy)).not.toThrow();
    // The second snippet: 30 s from the video's first frame, which a piece puts at 100 s.
    const second = snippetJobSpec(spec, plan, snippets(plan)[1]!, read);
    expect(second.inputs[0]).toEqual({
      url: `${SCRATCH}pieces/s00001.nut`,
      options: '-seek_timestamp 1 -ss 130 -t 30',
    });
    expect(previewsScratch.all(plan)).toEqual([
      `${SCRATCH}pieces/t0000.nut`,
      ...snippets(plan).map((s) => `${SCRATCH}pieces/s${String(s.index).padStart(5, '0')}.nut`),
    ]);
    const single = validateJob(previewsJob({}, { threads: 1 }), pools, policy).spec;
    const child = snippetJobSpec(single, plan, snippets(plan)[1]!, read);
    expect(() => validateJob(child, pools, policy)).not.toThrow();
    expect(child.inputs[0]!.options).toBe('-threads 1 -seek_timestamp 1 -ss 130 -t 30');
    expect(child.globalOptions).toBe('-filter_threads 1');
    for (const output of child.outputs) expect(output.options).toMatch(/ -threads 1$/);
  });

  it("keeps the job's decoder options, not its demuxer, and always turns a rotated picture upright", () => {
    const job = (options: string) =>
      validateJob(previewsJob({ inputs: [{ url: 's3://media/in/film.mov', options }] }), pools, policy);
    const { spec, plan: command } = job('-f mov -c:v h264');
    const plan = planPreviews(previewsSettings(spec.previews!), { ...source, rotation: 90 }, FOLDER, SCRATCH);
    const child = snippetJobSpec(spec, plan, snippets(plan)[0]!, piecesRead(command, { rotation: 90 }));
    expect(child.inputs[0]!.options).toBe('-c:v h264 -seek_timestamp 1 -ss 100 -t 30');
    expect(child.outputs[1]!.options).toMatch(/-vf transpose=cclock,fps=/);
    // Previews are upright, as the pictures and the planned sizes are: autorotation stays on.
    for (const off of ['-noautorotate', '-autorotate 0'])
      expect(() => job(off)).toThrow(`inputs[0] ${off}: autorotation cannot be switched off with previews`);
    expect(() => job('-autorotate 1')).not.toThrow();
  });

  it('refuses input and global options that would move the frames each child seeks to', () => {
    const job = (overrides: Record<string, unknown>) =>
      reasons(() => validateJob(previewsJob(overrides), pools, policy));
    expect(
      job({ inputs: [{ url: 's3://media/in/film.mov', options: '-ss 10 -itsoffset 2 -r 30' }] }),
    ).toEqual([
      'inputs[0] -ss: input seeking is not supported with previews (ask for the times in "previews")',
      'inputs[0] -itsoffset: input time offsets is not supported with previews (ask for the times in "previews")',
      'inputs[0] -r: input frame-rate overrides is not supported with previews (ask for the times in "previews")',
    ]);
    expect(job({ globalOptions: '-copyts' })).toEqual([
      'globalOptions -copyts: each child sets its own timestamps',
    ]);
  });
});

describe('previews plan', () => {
  it('resolves percentages, keeps the aspect ratio with even sizes, counts sheets and snippets', () => {
    const settings = previewsSettings({
      thumbnails: { times: [2.5], percents: [0, 50, 100], width: 320 },
      sprite: { intervalSeconds: 10, columns: 3, rows: 2 },
      animations: { snippetSeconds: 30, fps: 10 },
    });
    const plan = planPreviews(settings, { ...source, width: 1920, height: 816 }, FOLDER, SCRATCH);
    expect(plan.pictures.map((p) => [p.kind, p.time, p.width, p.height])).toEqual([
      ['thumbnail', 2.5, 320, 136],
      ['thumbnail', 0, 320, 136],
      ['thumbnail', 47.5, 320, 136],
      ['thumbnail', 94.95, 320, 136],
      ['poster', 9.5, 1920, 816],
    ]);
    // 95 s every 10 s: 10 tiles, 6 per sheet: a full sheet and one of 4 tiles in 2 rows.
    expect(spriteSheets(plan).map((s) => [s.tiles, s.columns, s.rows, s.width, s.height])).toEqual([
      [6, 3, 2, 480, 136],
      [4, 3, 2, 480, 136],
    ]);
    expect(snippets(plan).map((s) => [s.startSeconds, s.durationSeconds, s.frames])).toEqual([
      [0, 30, 300],
      [30, 30, 300],
      [60, 30, 300],
      [90, 5, 50],
    ]);
  });

  it('takes the last frame for a time after it starts, and refuses none before the end', () => {
    // One frame a second: the last starts at 94 s and is shown until 95 s.
    const settings = previewsSettings({ thumbnails: { times: [94.5], percents: [100] }, poster: false });
    const plan = planPreviews(settings, { ...source, lastFrameSeconds: 94 }, FOLDER, SCRATCH);
    expect(plan.pictures.map((p) => p.time)).toEqual([94, 94]);
  });

  it('turns the sizes of a rotated source', () => {
    const plan = planPreviews(
      previewsSettings({ poster: { width: 360 } }),
      { ...source, rotation: 90 },
      FOLDER,
      SCRATCH,
    );
    expect(plan.pictures[0]).toMatchObject({ width: 360, height: 640 });
  });

  it('sizes an anamorphic source as it is shown, and marks an interlaced one for deinterlacing', () => {
    // PAL widescreen: 720x576 stored, pixels 64:45, shown 1024x576.
    const pal = { width: 720, height: 576, rotation: 0, sampleAspectRatio: 64 / 45, durationSeconds: 95 };
    const settings = previewsSettings({ thumbnails: { times: [1], width: 320 }, poster: true });
    const plan = planPreviews(settings, pal, FOLDER, SCRATCH);
    expect(plan).toMatchObject({ width: 1024, height: 576 });
    expect(plan.interlaced).toBeUndefined();
    expect(plan.pictures.map((p) => [p.width, p.height])).toEqual([
      [320, 180],
      [1024, 576],
    ]);
    expect(planPreviews(settings, { ...pal, interlaced: true }, FOLDER, SCRATCH).interlaced).toBe(true);
  });

  it('refuses a time past the end and a fan-out above its bounds, before making anything', () => {
    expect(() =>
      planPreviews(previewsSettings({ thumbnails: { times: [95] } }), source, FOLDER, SCRATCH),
    ).toThrow(/past the end of the video/);
    const week = { ...source, durationSeconds: 7 * 24 * 3600 };
    expect(() =>
      planPreviews(
        previewsSettings({ sprite: false, animations: { snippetSeconds: 1 } }),
        week,
        FOLDER,
        SCRATCH,
      ),
    ).toThrow(/ask for longer snippets/);
    expect(() =>
      planPreviews(
        previewsSettings({ animations: false, sprite: { intervalSeconds: 1, columns: 1, rows: 1 } }),
        week,
        FOLDER,
        SCRATCH,
      ),
    ).toThrow(/sprite sheets/);
  });

  it('writes a WebVTT cue per tile pointing inside its sheet, and a manifest of every file', () => {
    const plan = planPreviews(
      previewsSettings({
        sprite: { intervalSeconds: 10, columns: 3, rows: 2 },
        poster: false,
        animations: false,
      }),
      source,
      FOLDER,
      SCRATCH,
    );
    const vtt = spritesVtt(plan);
    expect(vtt.startsWith('WEBVTT\n\n')).toBe(true);
    expect(vtt).toContain('00:00:00.000 --> 00:00:10.000\nsprites/0000.jpg#xywh=0,0,160,90\n');
    expect(vtt).toContain('00:01:30.000 --> 00:01:35.000\nsprites/0001.jpg#xywh=0,90,160,90\n');
    const manifest = previewsManifest(plan, (file) => file.length);
    expect(manifest.sprite!.sheets.map((s) => s.bytes)).toEqual([
      'sprites/0000.jpg'.length,
      'sprites/0001.jpg'.length,
    ]);
    expect(previewsFiles(plan)).toEqual(['sprites/0000.jpg', 'sprites/0001.jpg', 'sprites.vtt']);
  });
});
