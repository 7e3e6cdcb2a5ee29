/**
 * The steps of a previews job. The parent plans (reads the source's duration and size, resolves
 * the asked times), makes the few still pictures itself from the source it already has, and
 * queues one ordinary job per sprite sheet and one per snippet; each reads its own piece of the
 * source from scratch and writes straight into the output folder. The parent then writes the
 * WebVTT track and, last, the manifest, so a folder without a manifest is never a finished one.
 *
 *   picture  (parent) a thumbnail or the poster: one frame at its time, scaled
 *   piece    (parent) each child's span of the source's video, whole GOPs, by stream copy
 *   sheet    (a job) one sprite sheet: a frame every N s over its span, scaled and tiled
 *   snippet  (a job) one snippet: an animated GIF (a palette made from the snippet's frames first,
 *            then applied) and/or an animated WebP, at the snippet's time and length
 */
import { type Static, Type } from '@sinclair/typebox';
import { FfleetError } from '../errors.ts';
import type { CommandPlan } from '../ffmpeg/command.ts';
import { MEDIA_DEMUXERS } from '../ffmpeg/option-table.ts';
import { quoteOptions } from '../ffmpeg/tokenize.ts';
import type { JobSpec } from '../jobs/spec.ts';
import { displaySize, type VideoTrack } from './media-analysis.ts';
import {
  type ImageFormatName,
  MAX_SNIPPETS,
  MAX_SPRITE_SHEETS,
  type PreviewsSettings,
} from './previews-spec.ts';
import { PIECE_FORMAT, sourceFilters } from './split-commands.ts';
import { optionArgs } from './split-rules.ts';
import { type HdrColour, HdrColourSchema, toneMapFilter } from './tone-map.ts';

const Format = Type.Union([Type.Literal('jpeg'), Type.Literal('webp')]);

export const PicturePlanSchema = Type.Object({
  kind: Type.Union([Type.Literal('thumbnail'), Type.Literal('poster')]),
  /** Path in the output folder. */
  file: Type.String(),
  /** Seconds from the start of the video. */
  time: Type.Number(),
  /** What the caller asked for, when it was a percentage. */
  percent: Type.Optional(Type.Number()),
  width: Type.Integer(),
  height: Type.Integer(),
  format: Format,
  /** Set once uploaded. */
  bytes: Type.Optional(Type.Integer()),
});
export type PicturePlan = Static<typeof PicturePlanSchema>;

/** What the plan step decided, kept in the parent job for the manifest step. */
export const PreviewsPlanSchema = Type.Object({
  /** The output folder (ending in /). */
  folder: Type.String(),
  /** Folder URL (ending in /) of the pieces the children read; absent in plans made before pieces. */
  scratch: Type.Optional(Type.String()),
  durationSeconds: Type.Number(),
  /** The video's size as shown: upright, square pixels. */
  width: Type.Integer(),
  height: Type.Integer(),
  /** The source is interlaced: every picture is deinterlaced before it is scaled. */
  interlaced: Type.Optional(Type.Boolean()),
  /** The source is HDR: every picture is tone-mapped to SDR BT.709 once scaled. */
  hdr: Type.Optional(HdrColourSchema),
  pictures: Type.Array(PicturePlanSchema),
  sprite: Type.Optional(
    Type.Object({
      intervalSeconds: Type.Integer(),
      tileWidth: Type.Integer(),
      tileHeight: Type.Integer(),
      columns: Type.Integer(),
      rows: Type.Integer(),
      format: Format,
      tiles: Type.Integer(),
    }),
  ),
  animations: Type.Optional(
    Type.Object({
      snippetSeconds: Type.Integer(),
      fps: Type.Integer(),
      width: Type.Integer(),
      height: Type.Integer(),
      formats: Type.Array(Type.Union([Type.Literal('gif'), Type.Literal('webp')])),
      count: Type.Integer(),
    }),
  ),
});
export type PreviewsPlan = Static<typeof PreviewsPlanSchema>;

/** What the plan needs of the source's video. */
export interface PreviewsSource {
  width: number;
  height: number;
  rotation: number;
  /** Width ÷ height of a stored pixel (default 1): previews have square pixels and the shape the video is shown at. */
  sampleAspectRatio?: number;
  interlaced?: boolean;
  /** The source's colour when it is HDR: previews are SDR. */
  hdr?: HdrColour;
  durationSeconds: number;
  /** When the last frame starts (seconds from the first): a seek past it finds no frame. */
  lastFrameSeconds?: number;
}

/** The nearest even number, at least 2. */
function even(x: number): number {
  return Math.max(2, 2 * Math.round(x / 2));
}

const EXTENSION: Record<ImageFormatName, string> = { jpeg: 'jpg', webp: 'webp' };

/**
 * The plan: times resolved against the duration, every size computed (the source's display
 * aspect ratio, even sizes), the sheets and snippets counted. A time at or past the end, or a
 * fan-out above its bound, fails the job with a clear 422: nothing has been made yet.
 */
export function planPreviews(
  settings: PreviewsSettings,
  source: PreviewsSource,
  folder: string,
  scratch: string,
): PreviewsPlan {
  const { width, height } = displaySize(source);
  const duration = source.durationSeconds;
  if (!(duration > 0))
    throw new FfleetError('no_duration', 'the video has no duration to make previews of', 422);
  const heightFor = (w: number) => even((w * height) / width);
  // Rounded down to the millisecond, so a seek to it never lands after the frame.
  const lastFrame = Math.floor(Math.max(0, source.lastFrameSeconds ?? duration - 0.05) * 1000 + 1e-6) / 1000;
  const timeOf = (what: string, time: number | undefined, percent: number | undefined) => {
    const t = time ?? ((percent ?? 0) / 100) * duration;
    if (time !== undefined && time >= duration)
      throw new FfleetError(
        'time_out_of_range',
        `${what} asks for ${time} s, past the end of the video (${duration.toFixed(3)} s)`,
        422,
      );
    // Past the last frame's start (100 %, or a time while it is shown) the last frame is the one. Milliseconds, as ffmpeg seeks.
    return Math.round(Math.min(t, lastFrame) * 1000) / 1000;
  };

  const pictures: PicturePlan[] = [];
  const t = settings.thumbnails;
  if (t) {
    const asked = [...t.times.map((time) => ({ time })), ...t.percents.map((percent) => ({ percent }))] as {
      time?: number;
      percent?: number;
    }[];
    asked.forEach((a, i) => {
      pictures.push({
        kind: 'thumbnail',
        file: `thumbnails/${String(i).padStart(3, '0')}.${EXTENSION[t.format]}`,
        time: timeOf(`thumbnails[${i}]`, a.time, a.percent),
        ...(a.percent !== undefined ? { percent: a.percent } : {}),
        width: t.width,
        height: heightFor(t.width),
        format: t.format,
      });
    });
  }
  const p = settings.poster;
  if (p) {
    const w = p.width ?? even(Math.min(width, 1920));
    pictures.push({
      kind: 'poster',
      file: `poster.${EXTENSION[p.format]}`,
      time: timeOf('the poster', p.time, p.time === undefined ? p.percent : undefined),
      ...(p.time === undefined ? { percent: p.percent } : {}),
      width: w,
      height: heightFor(w),
      format: p.format,
    });
  }

  const plan: PreviewsPlan = { folder, scratch, durationSeconds: duration, width, height, pictures };
  if (source.interlaced) plan.interlaced = true;
  if (source.hdr) plan.hdr = source.hdr;
  const s = settings.sprite;
  if (s) {
    const tiles = Math.ceil(duration / s.intervalSeconds - 1e-9);
    const sheets = Math.ceil(tiles / (s.columns * s.rows));
    if (sheets > MAX_SPRITE_SHEETS)
      throw new FfleetError(
        'too_many_sheets',
        `a tile every ${s.intervalSeconds} s makes ${sheets} sprite sheets of this ${Math.round(duration)} s video (at most ${MAX_SPRITE_SHEETS}): ask for a longer interval or more tiles per sheet`,
        422,
      );
    plan.sprite = {
      intervalSeconds: s.intervalSeconds,
      tileWidth: s.width,
      tileHeight: heightFor(s.width),
      columns: s.columns,
      rows: s.rows,
      format: s.format,
      tiles,
    };
  }
  const a = settings.animations;
  if (a) {
    const count = Math.ceil(duration / a.snippetSeconds - 1e-9);
    if (count > MAX_SNIPPETS)
      throw new FfleetError(
        'too_many_snippets',
        `${a.snippetSeconds} s snippets make ${count} animations of this ${Math.round(duration)} s video (at most ${MAX_SNIPPETS}): ask for longer snippets`,
        422,
      );
    plan.animations = {
      snippetSeconds: a.snippetSeconds,
      fps: a.fps,
      width: a.width,
      height: heightFor(a.width),
      formats: a.formats,
      count,
    };
  }
  return plan;
}

/** One sprite sheet: the tiles it holds and its size in pixels. */
export interface SpriteSheet {
  index: number;
  file: string;
  /** The first tile's number over the whole video. */
  firstTile: number;
  tiles: number;
  columns: number;
  rows: number;
  width: number;
  height: number;
  startSeconds: number;
  endSeconds: number;
}

export function spriteSheets(plan: PreviewsPlan): SpriteSheet[] {
  const s = plan.sprite;
  if (!s) return [];
  const perSheet = s.columns * s.rows;
  const sheets: SpriteSheet[] = [];
  for (let first = 0, index = 0; first < s.tiles; first += perSheet, index++) {
    const tiles = Math.min(perSheet, s.tiles - first);
    // A short last sheet keeps its columns and drops the rows it does not need.
    const rows = Math.ceil(tiles / s.columns);
    sheets.push({
      index,
      file: `sprites/${String(index).padStart(4, '0')}.${EXTENSION[s.format]}`,
      firstTile: first,
      tiles,
      columns: s.columns,
      rows,
      width: s.columns * s.tileWidth,
      height: rows * s.tileHeight,
      startSeconds: first * s.intervalSeconds,
      endSeconds: Math.min(plan.durationSeconds, (first + tiles) * s.intervalSeconds),
    });
  }
  return sheets;
}

/** One snippet: its times, its frames at the animation's rate, and its files. */
export interface Snippet {
  index: number;
  startSeconds: number;
  durationSeconds: number;
  frames: number;
  files: { format: 'gif' | 'webp'; file: string }[];
}

export function snippets(plan: PreviewsPlan): Snippet[] {
  const a = plan.animations;
  if (!a) return [];
  return Array.from({ length: a.count }, (_, index) => {
    const start = index * a.snippetSeconds;
    const duration = Math.min(a.snippetSeconds, plan.durationSeconds - start);
    const name = `animations/${String(index).padStart(5, '0')}`;
    return {
      index,
      startSeconds: start,
      durationSeconds: duration,
      frames: Math.max(1, Math.round(duration * a.fps)),
      files: a.formats.map((format) => ({ format, file: `${name}.${format}` })),
    };
  });
}

/** Child ids: deterministic, never a colon. */
export const previewsChildId = {
  sheet: (parentId: string, index: number) => `${parentId}-t${index}`,
  snippet: (parentId: string, index: number) => `${parentId}-s${index}`,
};

/** Every object the pipeline writes into the output folder before its manifest. */
export function previewsFiles(plan: PreviewsPlan): string[] {
  return [
    ...plan.pictures.map((p) => p.file),
    ...spriteSheets(plan).map((s) => s.file),
    ...(plan.sprite ? [SPRITES_VTT] : []),
    ...snippets(plan).flatMap((s) => s.files.map((f) => f.file)),
  ];
}

export const SPRITES_VTT = 'sprites.vtt';
export const PREVIEWS_MANIFEST = 'manifest.json';

/** Encoder options of a still picture. */
function imageCodec(format: ImageFormatName): string[] {
  return format === 'jpeg' ? ['-c:v', 'mjpeg', '-q:v', '3'] : ['-c:v', 'libwebp', '-quality', '80'];
}

/** `1.5` → `1.5`, never an exponent, at most millisecond precision. */
function seconds(value: number): string {
  return String(Math.round(value * 1000) / 1000);
}

/** The scale every picture uses: the planned size exactly, square pixels; then SDR if the source is HDR. */
function scale(width: number, height: number, toneMap: string | undefined): string {
  const size = `scale=${width}:${height}:flags=lanczos,setsar=1`;
  return toneMap ? `${size},${toneMap}` : size;
}

/** ffmpeg's argv for one still picture (the parent runs it on the source it downloaded). */
export function pictureArgs(
  source: string,
  plan: Pick<PreviewsPlan, 'interlaced' | 'hdr'>,
  picture: PicturePlan,
  out: string,
): string[] {
  const before = sourceFilters({ interlaced: plan.interlaced });
  const own = scale(picture.width, picture.height, plan.hdr && toneMapFilter(plan.hdr));
  return [
    ...['-hide_banner', '-nostdin', '-y', '-nostats'],
    ...['-protocol_whitelist', 'file', '-format_whitelist', MEDIA_DEMUXERS.join(',')],
    ...['-ss', seconds(picture.time), '-i', source],
    ...['-map', '0:v:0', '-an', '-sn', '-dn', '-frames:v', '1'],
    ...['-vf', before ? `${before},${own}` : own],
    ...imageCodec(picture.format),
    out,
  ];
}

/**
 * Where a piece puts the video's time 0 (its first frame): every time in a piece is the source's
 * plus a shift that lands there. Well clear of zero, so no muxer moves a piece's timestamps to
 * keep its first decode times from going negative (B-frames decode before they are shown).
 */
export const PIECE_ZERO_SECONDS = 100;

/** The scratch objects of a previews job: one piece per child, by deterministic name. */
export const previewsScratch = {
  sheet: (plan: Pick<PreviewsPlan, 'scratch'>, index: number) =>
    `${scratchOf(plan)}pieces/t${String(index).padStart(4, '0')}.${PIECE_FORMAT}`,
  snippet: (plan: Pick<PreviewsPlan, 'scratch'>, index: number) =>
    `${scratchOf(plan)}pieces/s${String(index).padStart(5, '0')}.${PIECE_FORMAT}`,
  /** Every object the job may have put there, for its cleanup (none in a plan made before pieces). */
  all(plan: PreviewsPlan): string[] {
    if (plan.scratch === undefined) return [];
    return [
      ...spriteSheets(plan).map((s) => this.sheet(plan, s.index)),
      ...snippets(plan).map((s) => this.snippet(plan, s.index)),
    ];
  },
};

function scratchOf(plan: Pick<PreviewsPlan, 'scratch'>): string {
  if (plan.scratch === undefined)
    throw new Error('this previews plan was made before pieces: it has no scratch');
  return plan.scratch;
}

/** A child's span of the video, in seconds from its first frame. */
export interface PreviewsSpan {
  startSeconds: number;
  durationSeconds: number;
}

export const sheetSpan = (sheet: SpriteSheet): PreviewsSpan => ({
  startSeconds: sheet.startSeconds,
  durationSeconds: sheet.endSeconds - sheet.startSeconds,
});

/**
 * ffmpeg's argv for one child's piece: the source's video from the last clean keyframe at or
 * before the span to the first at or after its end (whole GOPs, so every frame of the span
 * decodes as it does in the source), by stream copy, with the source's timestamps shifted so
 * the video's first frame is at PIECE_ZERO_SECONDS. `input` is the source's input arguments
 * (demuxer, hardening, `-i` path). Without a clean keyframe on a side the piece runs to the
 * source's start or end.
 */
export function previewsPieceArgs(
  input: readonly string[],
  video: Pick<VideoTrack, 'index' | 'startSeconds' | 'keyframes'>,
  span: PreviewsSpan,
  out: string,
): string[] {
  const start = video.startSeconds + span.startSeconds;
  const end = start + span.durationSeconds;
  const from = video.keyframes.findLast((k) => k <= start + 1e-6);
  const to = video.keyframes.find((k) => k >= end - 1e-6);
  return [
    ...['-hide_banner', '-nostdin', '-y', '-nostats', '-copyts'],
    ...(from !== undefined ? ['-seek_timestamp', '1', '-ss', from.toFixed(6)] : []),
    ...input,
    ...['-map', `0:${video.index}`, '-c', 'copy', '-an', '-sn', '-dn'],
    ...(to !== undefined ? ['-to', to.toFixed(6)] : []),
    ...['-output_ts_offset', (PIECE_ZERO_SECONDS - video.startSeconds).toFixed(6)],
    ...['-f', PIECE_FORMAT, out],
  ];
}

/** What every child of a job reads the same way. */
export interface PiecesRead {
  /** The job's input options a child keeps: decoder options, not a demuxer (a piece is NUT). */
  inputArgs: string[];
  /** Filters before the child's own: deinterlacing, then the upright turn (a piece has no display matrix). */
  before?: string;
  /** The tone mapping of an HDR source, after the child's scale. */
  toneMap?: string;
}

/**
 * Previews are shown upright, like the pictures the parent makes from the source and the sizes
 * the plan turned (a job cannot switch autorotation off): a rotated source's children turn it.
 */
export function piecesRead(
  command: CommandPlan,
  source: { rotation: number; interlaced?: boolean; hdr?: HdrColour },
): PiecesRead {
  const options = command.inputs[0]!.options;
  const before = sourceFilters({ interlaced: source.interlaced, turn: source.rotation });
  return {
    inputArgs: optionArgs(options.filter((o) => o.name !== 'f')),
    ...(before ? { before } : {}),
    ...(source.hdr ? { toneMap: toneMapFilter(source.hdr) } : {}),
  };
}

/** The job that makes one sprite sheet: a frame every interval over the sheet's span, tiled. */
export function sheetJobSpec(
  spec: JobSpec,
  plan: PreviewsPlan,
  sheet: SpriteSheet,
  read: PiecesRead,
): JobSpec {
  const s = plan.sprite!;
  const args = [
    ...['-map', '0:v:0', '-an', '-sn', '-dn'],
    // A frame at each multiple of the interval: the first frame at or after it.
    ...[
      '-vf',
      filters(
        read,
        `fps=1/${s.intervalSeconds}:round=up,${scale(s.tileWidth, s.tileHeight, read.toneMap)},tile=${sheet.columns}x${sheet.rows}`,
      ),
    ],
    ...['-frames:v', '1', '-update', '1'],
    ...imageCodec(s.format),
  ];
  return childSpec(
    spec,
    `sheet-${sheet.index}`,
    { url: previewsScratch.sheet(plan, sheet.index), span: sheetSpan(sheet), read },
    [{ url: `${plan.folder}${sheet.file}`, options: quoteOptions(args) }],
  );
}

/** The job that makes one snippet's animations: GIF with its own palette, and/or WebP. */
export function snippetJobSpec(
  spec: JobSpec,
  plan: PreviewsPlan,
  snippet: Snippet,
  read: PiecesRead,
): JobSpec {
  const a = plan.animations!;
  const frames = filters(read, `fps=${a.fps},${scale(a.width, a.height, read.toneMap)}`);
  const outputs = snippet.files.map(({ format, file }) => {
    const args =
      format === 'gif'
        ? [
            // The palette is made from every frame of the snippet first, then applied to them.
            ...[
              '-vf',
              `${frames},split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse=dither=bayer`,
            ],
            ...['-c:v', 'gif', '-loop', '0'],
          ]
        : ['-vf', frames, '-c:v', 'libwebp_anim', '-quality', '75', '-loop', '0'];
    return {
      url: `${plan.folder}${file}`,
      options: quoteOptions(['-map', '0:v:0', '-an', '-sn', '-dn', ...args]),
    };
  });
  return childSpec(
    spec,
    `snippet-${snippet.index}`,
    { url: previewsScratch.snippet(plan, snippet.index), span: snippet, read },
    outputs,
  );
}

/** Deinterlacing and the upright turn, if any, before the child's own filters, as autorotation would place the turn. */
function filters(read: PiecesRead, own: string): string {
  return read.before ? `${read.before},${own}` : own;
}

/**
 * A child job reading its span from its piece: an accurate seek to the span's start on the
 * piece's timeline (PIECE_ZERO_SECONDS is the video's first frame), then its duration.
 */
function childSpec(
  spec: JobSpec,
  step: string,
  input: { url: string; span: PreviewsSpan; read: PiecesRead },
  outputs: JobSpec['outputs'],
): JobSpec {
  const threads = spec.previews?.threads;
  const args = [
    ...(threads ? ['-threads', String(threads)] : []),
    ...input.read.inputArgs,
    ...['-seek_timestamp', '1', '-ss', seconds(PIECE_ZERO_SECONDS + input.span.startSeconds)],
    ...['-t', seconds(input.span.durationSeconds)],
  ];
  const child: JobSpec = {
    name: `${spec.name.slice(0, 100)}.${step}`.slice(0, 128),
    compute: spec.compute,
    inputs: [{ url: input.url, options: quoteOptions(args) }],
    outputs: threads ? outputs.map((o) => ({ ...o, options: `${o.options} -threads ${threads}` })) : outputs,
    quality: false,
  };
  const global = [spec.globalOptions, threads ? `-filter_threads ${threads}` : undefined].filter(Boolean);
  if (global.length > 0) child.globalOptions = global.join(' ');
  if (spec.instanceType) child.instanceType = spec.instanceType;
  for (const key of ['priority', 'timeoutSeconds', 'attempts'] as const)
    if (spec[key] !== undefined) child[key] = spec[key];
  return child;
}

/** `HH:MM:SS.mmm`, the cue time WebVTT wants. */
function cueTime(value: number): string {
  const ms = Math.round(value * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(ms % 1000, 3)}`;
}

/** The WebVTT thumbnails track: one cue per tile, pointing into its sheet with `#xywh=`. */
export function spritesVtt(plan: PreviewsPlan): string {
  const s = plan.sprite;
  if (!s) return '';
  const lines = ['WEBVTT', ''];
  for (const sheet of spriteSheets(plan)) {
    for (let i = 0; i < sheet.tiles; i++) {
      const tile = sheet.firstTile + i;
      const start = tile * s.intervalSeconds;
      const end = Math.min(plan.durationSeconds, start + s.intervalSeconds);
      const x = (i % sheet.columns) * s.tileWidth;
      const y = Math.floor(i / sheet.columns) * s.tileHeight;
      lines.push(
        `${cueTime(start)} --> ${cueTime(end)}`,
        `${sheet.file}#xywh=${x},${y},${s.tileWidth},${s.tileHeight}`,
        '',
      );
    }
  }
  return lines.join('\n');
}

/** The manifest: everything made, with sizes (pixels and bytes) and times, paths relative to it. */
export function previewsManifest(plan: PreviewsPlan, bytes: (file: string) => number | undefined) {
  const size = (file: string) => bytes(file) ?? null;
  const picture = (p: PicturePlan) => ({
    file: p.file,
    time: p.time,
    ...(p.percent !== undefined ? { percent: p.percent } : {}),
    width: p.width,
    height: p.height,
    format: p.format,
    bytes: p.bytes ?? size(p.file),
  });
  const poster = plan.pictures.find((p) => p.kind === 'poster');
  const s = plan.sprite;
  const a = plan.animations;
  return {
    source: { durationSeconds: plan.durationSeconds, width: plan.width, height: plan.height },
    thumbnails: plan.pictures.filter((p) => p.kind === 'thumbnail').map(picture),
    poster: poster ? picture(poster) : null,
    sprite: s
      ? {
          vtt: SPRITES_VTT,
          vttBytes: size(SPRITES_VTT),
          intervalSeconds: s.intervalSeconds,
          tileWidth: s.tileWidth,
          tileHeight: s.tileHeight,
          format: s.format,
          sheets: spriteSheets(plan).map((sheet) => ({
            file: sheet.file,
            start: sheet.startSeconds,
            end: sheet.endSeconds,
            tiles: sheet.tiles,
            columns: sheet.columns,
            rows: sheet.rows,
            width: sheet.width,
            height: sheet.height,
            bytes: size(sheet.file),
          })),
        }
      : null,
    animations: a
      ? snippets(plan).map((snippet) => ({
          index: snippet.index,
          start: snippet.startSeconds,
          duration: snippet.durationSeconds,
          fps: a.fps,
          frames: snippet.frames,
          width: a.width,
          height: a.height,
          files: snippet.files.map((f) => ({ ...f, bytes: size(f.file) })),
        }))
      : [],
  };
}
export type PreviewsManifest = ReturnType<typeof previewsManifest>;
