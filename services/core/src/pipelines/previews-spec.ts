/**
 * A previews job: one video in, a folder out holding pictures of it: thumbnails at asked times,
 * a poster, sprite sheets with a WebVTT track for seek previews, and an animated GIF and WebP per
 * snippet of the video. What a caller may ask for, the defaults, and the checks a previews job
 * passes before it is queued.
 */
import { type Static, Type } from '@sinclair/typebox';
import { InvalidJobError } from '../errors.ts';
import type { CommandPlan } from '../ffmpeg/command.ts';
import type { JobSpec } from '../jobs/spec.ts';
import type { Pool } from '../pools/registry.ts';
import { refusedAutorotationOff, refusedInputOptions } from './split-rules.ts';

/** The longest source a time may point into: a week. */
export const MAX_PREVIEW_SECONDS = 7 * 24 * 3600;
export const MAX_THUMBNAILS = 100;
/** Bounds on what one job fans out to, checked once the source's duration is known. */
export const MAX_SNIPPETS = 5000;
export const MAX_SPRITE_SHEETS = 1000;

const ImageFormat = Type.Union([Type.Literal('jpeg'), Type.Literal('webp')], {
  description: 'Picture format (default jpeg)',
});
const Width = (fallback: string, maximum: number) =>
  Type.Integer({
    minimum: 16,
    maximum,
    multipleOf: 2,
    description: `Width in pixels (${fallback}); the height follows the source's aspect ratio, rounded to even`,
  });
const Seconds = Type.Number({ minimum: 0, maximum: MAX_PREVIEW_SECONDS });
const Percent = Type.Number({ minimum: 0, maximum: 100 });

export const PreviewsSpecSchema = Type.Object(
  {
    thumbnails: Type.Optional(
      Type.Object(
        {
          times: Type.Optional(
            Type.Array(Seconds, {
              maxItems: MAX_THUMBNAILS,
              description: 'Seconds from the start of the video',
            }),
          ),
          percents: Type.Optional(
            Type.Array(Percent, { maxItems: MAX_THUMBNAILS, description: 'Percent of the duration' }),
          ),
          format: Type.Optional(ImageFormat),
          width: Type.Optional(Width('default 320', 3840)),
        },
        { additionalProperties: false, description: 'Still pictures at given times or percentages' },
      ),
    ),
    poster: Type.Optional(
      Type.Union(
        [
          Type.Boolean(),
          Type.Object(
            {
              time: Type.Optional(Seconds),
              percent: Type.Optional(Percent),
              format: Type.Optional(ImageFormat),
              width: Type.Optional(Width("default the source's, at most 1920", 3840)),
            },
            { additionalProperties: false },
          ),
        ],
        {
          description: 'One poster picture: true (the default, at 10 % of the duration), false, or settings',
        },
      ),
    ),
    sprite: Type.Optional(
      Type.Union(
        [
          Type.Boolean(),
          Type.Object(
            {
              intervalSeconds: Type.Optional(
                Type.Integer({
                  minimum: 1,
                  maximum: 600,
                  description: 'A tile every this many seconds (default 10)',
                }),
              ),
              width: Type.Optional(Width('of a tile, default 160', 640)),
              columns: Type.Optional(
                Type.Integer({ minimum: 1, maximum: 30, description: 'Tiles per row (default 10)' }),
              ),
              rows: Type.Optional(
                Type.Integer({ minimum: 1, maximum: 30, description: 'Rows per sheet (default 10)' }),
              ),
              format: Type.Optional(ImageFormat),
            },
            { additionalProperties: false },
          ),
        ],
        {
          description:
            'Sprite sheets of tiles and a WebVTT track (sprites.vtt, #xywh= cues) for seek previews: true (the default), false, or settings',
        },
      ),
    ),
    animations: Type.Optional(
      Type.Union(
        [
          Type.Boolean(),
          Type.Object(
            {
              snippetSeconds: Type.Optional(
                Type.Integer({
                  minimum: 1,
                  maximum: 600,
                  description: 'One animation per snippet of this many seconds (default 30)',
                }),
              ),
              fps: Type.Optional(
                Type.Integer({ minimum: 1, maximum: 30, description: 'Frames per second (default 10)' }),
              ),
              width: Type.Optional(Width('default 240', 640)),
              formats: Type.Optional(
                Type.Array(Type.Union([Type.Literal('gif'), Type.Literal('webp')]), {
                  minItems: 1,
                  maxItems: 2,
                  uniqueItems: true,
                  description: 'Animated GIF (palette made per snippet) and/or animated WebP (default both)',
                }),
              ),
            },
            { additionalProperties: false },
          ),
        ],
        {
          description:
            'Animated previews, one per snippet, made in parallel across the pool: true (the default), false, or settings',
        },
      ),
    ),
    threads: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 64,
        description:
          "Threads of each sprite sheet's and snippet's ffmpeg (decoder, filters, encoder; default: ffmpeg's own choice); 1 packs more per node",
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Make previews of one video into a folder output: thumbnails, a poster, sprite sheets with a WebVTT track, animated GIF/WebP per snippet and a manifest.json; see docs/pipelines.md',
  },
);
export type PreviewsSpec = Static<typeof PreviewsSpecSchema>;

export type ImageFormatName = 'jpeg' | 'webp';

/** A previews job with every default filled in; a part that is off is undefined. */
export interface PreviewsSettings {
  thumbnails?: { times: number[]; percents: number[]; format: ImageFormatName; width: number };
  poster?: { time?: number; percent: number; format: ImageFormatName; width?: number };
  sprite?: { intervalSeconds: number; width: number; columns: number; rows: number; format: ImageFormatName };
  animations?: { snippetSeconds: number; fps: number; width: number; formats: ('gif' | 'webp')[] };
}

export function previewsSettings(previews: PreviewsSpec): PreviewsSettings {
  const settings: PreviewsSettings = {};
  const t = previews.thumbnails;
  if (t)
    settings.thumbnails = {
      times: t.times ?? [],
      percents: t.percents ?? [],
      format: t.format ?? 'jpeg',
      width: t.width ?? 320,
    };
  const poster = previews.poster ?? true;
  if (poster !== false) {
    const p = poster === true ? {} : poster;
    settings.poster = {
      ...(p.time !== undefined ? { time: p.time } : {}),
      percent: p.percent ?? 10,
      format: p.format ?? 'jpeg',
      ...(p.width !== undefined ? { width: p.width } : {}),
    };
  }
  const sprite = previews.sprite ?? true;
  if (sprite !== false) {
    const s = sprite === true ? undefined : sprite;
    settings.sprite = {
      intervalSeconds: s?.intervalSeconds ?? 10,
      width: s?.width ?? 160,
      columns: s?.columns ?? 10,
      rows: s?.rows ?? 10,
      format: s?.format ?? 'jpeg',
    };
  }
  const animations = previews.animations ?? true;
  if (animations !== false) {
    const a = animations === true ? {} : animations;
    settings.animations = {
      snippetSeconds: a.snippetSeconds ?? 30,
      fps: a.fps ?? 10,
      width: a.width ?? 240,
      formats: a.formats ?? ['gif', 'webp'],
    };
  }
  return settings;
}

/**
 * What a previews job must be beyond its schema: one input, one folder output without options
 * (the pipeline writes every command), something to make, times that say one thing, and the
 * WebP encoders when WebP is asked for. Throws a 400 listing every problem.
 */
export function checkPreviewsJob(spec: JobSpec, pool: Pool): void {
  const previews = spec.previews!;
  const problems: string[] = [];
  if (spec.split) problems.push('"split" and "previews" do not go together: previews fan out by themselves');
  if (spec.ladder) problems.push('"ladder" and "previews" do not go together: submit them as two jobs');
  if (spec.inputs.length !== 1) problems.push('previews read exactly one input');
  if (spec.outputs.length !== 1) problems.push('previews write exactly one output');
  const output = spec.outputs[0];
  if (output && !output.url.endsWith('/'))
    problems.push('outputs[0].url must be a folder (ending in /): previews write many files there');
  if (output?.options !== undefined || output?.filename !== undefined)
    problems.push('outputs[0] takes no options or filename: previews write their own commands');
  if (spec.quality) problems.push('quality is not measured for previews');
  const settings = previewsSettings(previews);
  const t = settings.thumbnails;
  if (t && t.times.length + t.percents.length === 0)
    problems.push('previews.thumbnails needs at least one of times or percents');
  if (t && t.times.length + t.percents.length > MAX_THUMBNAILS)
    problems.push(`previews.thumbnails asks for more than ${MAX_THUMBNAILS} pictures`);
  const poster = previews.poster;
  if (typeof poster === 'object' && poster.time !== undefined && poster.percent !== undefined)
    problems.push('previews.poster takes time or percent, not both');
  const stills = [settings.thumbnails, settings.poster, settings.sprite].some((s) => s?.format === 'webp');
  const needs = [
    ...(stills ? ['libwebp'] : []),
    ...(settings.animations?.formats.includes('webp') ? ['libwebp_anim'] : []),
  ];
  for (const encoder of needs.filter((e) => !pool.encoders.includes(e)))
    problems.push(
      `WebP needs ${encoder}, which pool ${pool.name} does not have (ask for jpeg pictures and "formats": ["gif"])`,
    );
  if (!settings.thumbnails && !settings.poster && !settings.sprite && !settings.animations)
    problems.push('previews: everything is off, nothing would be made');
  if (problems.length > 0)
    throw new InvalidJobError(`these previews cannot be made: ${problems.join('; ')}`, { reasons: problems });
}

/** Global options that would undo how the children seek inside their pieces or map their streams. */
const GLOBAL_REFUSED: Record<string, string> = {
  copyts: 'each child sets its own timestamps',
  start_at_zero: 'each child sets its own timestamps',
  copytb: 'each child sets its own timestamps',
  filter_complex: 'each child writes its own filters',
  lavfi: 'each child writes its own filters',
};

/** The options a previews job cannot take, once its command is parsed: every reason, in one 400. */
export function checkPreviewsCommand(plan: CommandPlan): void {
  const problems = [
    ...plan.globalOptions
      .filter((o) => GLOBAL_REFUSED[o.name])
      .map((o) => `globalOptions ${o.token}: ${GLOBAL_REFUSED[o.name]}`),
    ...refusedInputOptions(plan.inputs[0]?.options ?? [], 'previews (ask for the times in "previews")'),
    ...refusedAutorotationOff(plan.inputs[0]?.options ?? [], 'previews'),
  ];
  if (problems.length > 0)
    throw new InvalidJobError(`these previews cannot be made: ${problems.join('; ')}`, { reasons: problems });
}

/**
 * The command-model view of a previews parent: its input, and its folder with the manifest as
 * its file, so the parent gets the same local paths as any job.
 */
export function previewsCommandSpec(spec: JobSpec): JobSpec {
  return { ...spec, outputs: spec.outputs.map((o) => ({ url: o.url, filename: 'manifest.json' })) };
}
