/**
 * An ABR ladder job: one video in, a folder out holding the same video at several sizes and
 * bitrates (rungs), packaged for HLS and DASH. What a caller may ask for, the defaults, and
 * the checks a ladder job passes before it is queued.
 */
import { type Static, Type } from '@sinclair/typebox';
import { InvalidJobError } from '../errors.ts';
import type { CommandPlan } from '../ffmpeg/command.ts';
import type { JobSpec } from '../jobs/spec.ts';
import type { Pool } from '../pools/registry.ts';
import { svtAv1Hdr10Params, x265Hdr10Params } from './hdr10.ts';
import { AudioRoleSchema } from './media-analysis.ts';
import { refusedAutorotationOff } from './split-rules.ts';
import { HDR_TRANSFERS, type HdrColour } from './tone-map.ts';

/** Every rung has a keyframe every this many seconds of the source, at the same times. */
export const LADDER_GOP_SECONDS = 2;
export const MAX_RUNGS = 12;
/** Rungs of a longer source are encoded in chunks of about this many seconds unless the job says otherwise. */
export const DEFAULT_LADDER_CHUNK_SECONDS = 60;

const Segment = (fallback: number, what: string) =>
  Type.Union(
    [
      Type.Boolean(),
      Type.Object(
        {
          segmentSeconds: Type.Integer({
            minimum: LADDER_GOP_SECONDS,
            maximum: 30,
            multipleOf: LADDER_GOP_SECONDS,
            description: `${what} segment length in seconds, a multiple of the ${LADDER_GOP_SECONDS} s GOP (default ${fallback})`,
          }),
        },
        { additionalProperties: false },
      ),
    ],
    { description: `Package for ${what}: true (the default), false, or {"segmentSeconds": n}` },
  );

/**
 * Audio renditions a ladder makes at most: a film's languages fit; a file with more streams is
 * more likely one channel per stream (a broadcast master), whose programmes `audio` assembles.
 */
export const MAX_AUDIO_RENDITIONS = 8;

/** One audio rendition made of chosen streams of the source (a broadcast master's channels). */
export const LadderAudioSchema = Type.Object(
  {
    streams: Type.Array(Type.Integer({ minimum: 0, maximum: 63 }), {
      minItems: 1,
      maxItems: 16,
      uniqueItems: true,
      description:
        "The source's audio streams (0 the first) whose channels make this rendition, in order: [0, 1] joins two mono streams as left and right; [0, 1, 2, 3, 4, 5] six as 5.1 (L R C LFE Ls Rs), downmixed to stereo",
    }),
    language: Type.Optional(
      Type.String({
        pattern: '^[a-z]{3}$',
        description: "ISO 639-2 language (eng); default: the first stream's tag",
      }),
    ),
    /** A commentary or an audio description; default: the first stream's disposition. */
    role: Type.Optional(AudioRoleSchema),
  },
  { additionalProperties: false },
);
export type LadderAudio = Static<typeof LadderAudioSchema>;

export const RungSchema = Type.Object(
  {
    height: Type.Integer({
      minimum: 64,
      maximum: 4320,
      multipleOf: 2,
      description: 'Pixels; the width follows the source',
    }),
    bitrateKbps: Type.Integer({ minimum: 50, maximum: 100_000, description: 'Target video bitrate, kb/s' }),
  },
  { additionalProperties: false },
);
export type Rung = Static<typeof RungSchema>;

export const LadderSpecSchema = Type.Object(
  {
    codec: Type.Optional(
      Type.Union([Type.Literal('h264'), Type.Literal('hevc'), Type.Literal('av1')], {
        description: 'Video codec of every rung (default h264); hevc and av1 where the pool has the encoder',
      }),
    ),
    rungs: Type.Optional(
      Type.Array(RungSchema, {
        minItems: 1,
        maxItems: MAX_RUNGS,
        description: "The ladder (default: the H.264 ladder of Apple's HLS authoring specification)",
      }),
    ),
    preset: Type.Optional(
      Type.String({
        pattern: '^[a-z0-9]{1,12}$',
        description:
          'Encoder speed preset (x264/x265: ultrafast … veryslow; SVT-AV1: 0 … 13). Default medium / 8',
      }),
    ),
    threads: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 64,
        description:
          "Threads of each rung's encode, for decoding, scaling and encoding alike (default: ffmpeg's own choice, up to the pool's cap); 1 packs more rungs per node",
      }),
    ),
    audioBitrateKbps: Type.Optional(
      Type.Integer({ minimum: 32, maximum: 512, description: 'AAC audio bitrate (default 128)' }),
    ),
    chunkSeconds: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 3600,
        multipleOf: LADDER_GOP_SECONDS,
        description: `Encode each rung in chunks of about this many seconds, cut on the ${LADDER_GOP_SECONDS} s keyframe grid, spread over the pool (default ${DEFAULT_LADDER_CHUNK_SECONDS}; a source shorter than one and a half chunks is encoded whole); 0 encodes every rung whole`,
      }),
    ),
    hdr: Type.Optional(
      Type.Union([Type.Literal('sdr'), Type.Literal('keep'), Type.Literal('both')], {
        description:
          'What the rungs of an HDR source (PQ or HLG) are: "sdr" (the default) tone-maps them to 8-bit SDR BT.709; "keep" keeps them HDR as the source is (10-bit, its transfer and colours, its HDR10 metadata), with codec hevc or av1; "both" makes every rung twice, HDR in codec hevc or av1 and SDR in H.264 for every other player, in one master playlist and one MPD. An SDR source is not affected',
      }),
    ),
    audio: Type.Optional(
      Type.Array(LadderAudioSchema, {
        minItems: 1,
        maxItems: MAX_AUDIO_RENDITIONS,
        description:
          "The audio renditions, each made of chosen streams of the source (a broadcast master's mono channels joined into programmes); default: one per audio stream, the first 8",
      }),
    ),
    hls: Type.Optional(Segment(6, 'HLS')),
    dash: Type.Optional(Segment(2, 'DASH')),
  },
  {
    additionalProperties: false,
    description:
      'Encode an adaptive-bitrate ladder from one video into a folder output, packaged for HLS and DASH; see docs/pipelines.md',
  },
);
export type LadderSpec = Static<typeof LadderSpecSchema>;

/** Apple's HLS authoring specification, H.264 (height, kb/s). Widths follow the source's aspect ratio. */
export const DEFAULT_LADDER: readonly Rung[] = [
  { height: 234, bitrateKbps: 145 },
  { height: 360, bitrateKbps: 365 },
  { height: 432, bitrateKbps: 730 },
  { height: 432, bitrateKbps: 1100 },
  { height: 540, bitrateKbps: 2000 },
  { height: 720, bitrateKbps: 3000 },
  { height: 720, bitrateKbps: 4500 },
  { height: 1080, bitrateKbps: 6000 },
  { height: 1080, bitrateKbps: 7800 },
];

export type LadderCodec = 'h264' | 'hevc' | 'av1';

/** The encoder of each codec. */
export const LADDER_ENCODERS: Record<LadderCodec, { encoder: string; defaultPreset: string }> = {
  h264: { encoder: 'libx264', defaultPreset: 'medium' },
  hevc: { encoder: 'libx265', defaultPreset: 'medium' },
  av1: { encoder: 'libsvtav1', defaultPreset: '8' },
};

/** Codecs whose rungs may stay HDR (10-bit); H.264 rungs are 8-bit, as players decode them. */
export const HDR_LADDER_CODECS: readonly LadderCodec[] = ['hevc', 'av1'];

/**
 * The codec of the SDR rungs beside HDR ones (ladder.hdr "both"): H.264, which every player
 * decodes, as Apple's HLS authoring specification asks of a stream that offers HDR.
 */
export const SDR_BESIDE_HDR_CODEC: LadderCodec = 'h264';

/**
 * The preset of rungs in `codec` when the ladder's preset is for `settings.codec`: x264 and
 * x265 name their presets alike; SVT-AV1's are numbers, so H.264 rungs beside AV1 ones take
 * x264's default.
 */
export function presetFor(settings: Pick<LadderSettings, 'codec' | 'preset'>, codec: LadderCodec): string {
  const named = (c: LadderCodec) => c !== 'av1';
  return codec === settings.codec || (named(codec) && named(settings.codec))
    ? settings.preset
    : LADDER_ENCODERS[codec].defaultPreset;
}

/**
 * What a rung's encoder is told beyond its rate and keyframes: no scene-cut keyframes (every
 * rung has them on the same grid), what players need written in the files, and for HDR rungs
 * (`hdr`, ladder.hdr "keep" or "both") 10 bits, the source's colour tags and its HDR10 metadata.
 */
export function ladderEncoderArgs(codec: LadderCodec, hdr?: HdrColour): string[] {
  const pixelFormat = ['-pix_fmt', hdr ? 'yuv420p10le' : 'yuv420p'];
  const colour = hdr
    ? [
        ...['-color_primaries', hdr.primaries, '-color_trc', HDR_TRANSFERS[hdr.transfer]],
        ...['-colorspace', hdr.matrix, '-color_range', hdr.range],
      ]
    : [];
  if (codec === 'h264') return ['-sc_threshold', '0', ...pixelFormat];
  if (codec === 'hevc') {
    const params = ['scenecut=0', 'open-gop=0', ...x265Hdr10Params(hdr?.hdr10)];
    return [
      ...['-x265-params', params.join(':'), '-tag:v', 'hvc1', ...pixelFormat],
      ...(hdr ? ['-profile:v', 'main10'] : []),
      ...colour,
    ];
  }
  return ['-svtav1-params', ['scd=0', ...svtAv1Hdr10Params(hdr?.hdr10)].join(':'), ...pixelFormat, ...colour];
}

/** A ladder with every default filled in. */
export interface LadderSettings {
  codec: LadderCodec;
  rungs: Rung[];
  preset: string;
  threads: number | undefined;
  audioBitrateKbps: number;
  /** Chunk length of a rung's encode, or undefined when every rung is encoded whole. */
  chunkSeconds: number | undefined;
  /** An HDR source's rungs: tone-mapped to SDR, kept HDR, or both (each rung twice). */
  hdr: 'sdr' | 'keep' | 'both';
  /** Segment lengths, or undefined when that packaging is off. */
  hlsSegmentSeconds: number | undefined;
  dashSegmentSeconds: number | undefined;
}

export function ladderSettings(ladder: LadderSpec): LadderSettings {
  const codec = ladder.codec ?? 'h264';
  const segment = (value: LadderSpec['hls'], fallback: number) =>
    value === false ? undefined : typeof value === 'object' ? value.segmentSeconds : fallback;
  return {
    codec,
    rungs: [...(ladder.rungs ?? DEFAULT_LADDER)],
    preset: ladder.preset ?? LADDER_ENCODERS[codec].defaultPreset,
    threads: ladder.threads,
    audioBitrateKbps: ladder.audioBitrateKbps ?? 128,
    hdr: ladder.hdr ?? 'sdr',
    chunkSeconds:
      ladder.chunkSeconds === 0 ? undefined : (ladder.chunkSeconds ?? DEFAULT_LADDER_CHUNK_SECONDS),
    hlsSegmentSeconds: segment(ladder.hls, 6),
    dashSegmentSeconds: segment(ladder.dash, 2),
  };
}

/**
 * What a ladder's parsed command cannot say: its rungs are sized as the source is shown and
 * players ignore a display matrix, so autorotation stays on. A 400 naming the option.
 */
export function checkLadderCommand(plan: CommandPlan): void {
  const problems = refusedAutorotationOff(plan.inputs[0]?.options ?? [], 'ladders');
  if (problems.length > 0)
    throw new InvalidJobError(`this ladder cannot run: ${problems.join('; ')}`, { reasons: problems });
}

/**
 * What a ladder job must be beyond its schema: one input, one folder output without options
 * (the pipeline writes every command), some packaging, distinct rungs, an encoder the pool has.
 * Throws a 400 listing every problem.
 */
export function checkLadderJob(spec: JobSpec, pool: Pool): void {
  const ladder = spec.ladder!;
  const problems: string[] = [];
  if (spec.split)
    problems.push('"split" and "ladder" do not go together: a ladder is spread over the pool already');
  if (spec.inputs.length !== 1) problems.push('a ladder reads exactly one input');
  if (spec.outputs.length !== 1) problems.push('a ladder writes exactly one output');
  const output = spec.outputs[0];
  if (output && !output.url.endsWith('/'))
    problems.push(
      'outputs[0].url must be a folder (ending in /): the ladder writes playlists and segments there',
    );
  if (output?.options !== undefined || output?.filename !== undefined)
    problems.push('outputs[0] takes no options or filename: the ladder writes its own commands');
  const settings = ladderSettings(ladder);
  if (settings.hlsSegmentSeconds === undefined && settings.dashSegmentSeconds === undefined)
    problems.push('hls and dash are both off: nothing would be published');
  const seen = new Set<string>();
  for (const [i, rung] of settings.rungs.entries()) {
    const key = `${rung.height}/${rung.bitrateKbps}`;
    if (seen.has(key))
      problems.push(`ladder.rungs[${i}] repeats ${rung.height}p at ${rung.bitrateKbps} kb/s`);
    seen.add(key);
  }
  if (settings.hdr !== 'sdr' && !HDR_LADDER_CODECS.includes(settings.codec))
    problems.push(
      `ladder.hdr "${settings.hdr}" needs codec ${HDR_LADDER_CODECS.join(' or ')}: ${settings.codec} rungs are 8-bit SDR`,
    );
  const codecs = new Set([settings.codec]);
  if (settings.hdr === 'both') codecs.add(SDR_BESIDE_HDR_CODEC);
  for (const codec of codecs) {
    const { encoder } = LADDER_ENCODERS[codec];
    const why =
      codec === settings.codec ? `codec ${codec}` : `ladder.hdr "both" (its SDR rungs are ${codec})`;
    if (!pool.encoders.includes(encoder))
      problems.push(
        `${why} needs ${encoder}, which pool ${pool.name} does not have (it has ${pool.encoders.join(', ')})`,
      );
  }
  if (problems.length > 0)
    throw new InvalidJobError(`this ladder cannot run: ${problems.join('; ')}`, { reasons: problems });
}

/**
 * The command-model view of a ladder's parent: its input, and its folder with the master
 * playlist (or the MPD) as its file, so the parent gets the same local paths as any job.
 */
export function ladderCommandSpec(spec: JobSpec): JobSpec {
  const settings = ladderSettings(spec.ladder!);
  const filename = settings.hlsSegmentSeconds !== undefined ? 'master.m3u8' : 'manifest.mpd';
  return { ...spec, outputs: spec.outputs.map((o) => ({ url: o.url, filename })) };
}
