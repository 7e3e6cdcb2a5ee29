import { type Static, Type } from '@sinclair/typebox';
import { LadderSpecSchema } from '../pipelines/ladder-spec.ts';
import { PreviewsSpecSchema } from '../pipelines/previews-spec.ts';
import { TargetQualitySchema } from '../pipelines/target-quality.ts';

/** Bounds on everything a caller controls in a job. */
export const LIMITS = {
  inputs: 16,
  outputs: 16,
  optionsLength: 4096,
  urlLength: 2048,
  nameLength: 128,
  timeoutSeconds: 86_400,
  attempts: 10,
} as const;

export const DEFAULT_TIMEOUT_SECONDS = 3600;
export const DEFAULT_ATTEMPTS = 3;

const Options = Type.String({
  maxLength: LIMITS.optionsLength,
  description: 'FFmpeg options, tokenized with shell-like quoting (never run by a shell)',
});
const Url = Type.String({
  minLength: 1,
  maxLength: LIMITS.urlLength,
  description: 's3://bucket/key (or file:///path when the fleet has a file root)',
});

export const JobInputSchema = Type.Object(
  { url: Url, options: Type.Optional(Options) },
  { additionalProperties: false },
);

export const JobOutputSchema = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      maxLength: LIMITS.urlLength,
      description: 's3://bucket/key, or a folder s3://bucket/prefix/ that receives every file written',
    }),
    options: Type.Optional(Options),
    filename: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_][A-Za-z0-9_.%-]{0,127}$',
        description:
          'For folder outputs: the file ffmpeg writes inside the folder (default from the format: ' +
          'index.m3u8 for hls, manifest.mpd for dash, frame-%05d.jpg for image2)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const JobSpecSchema = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: LIMITS.nameLength,
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$',
      description: 'Label for observability and reports',
    }),
    compute: Type.String({
      pattern: '^[a-z][a-z0-9-]{0,30}$',
      description: 'Pool family: intel, amd, arm, nvidia, xilinx',
    }),
    instanceType: Type.Optional(
      Type.String({
        pattern: '^[a-z0-9]+[a-z0-9-]*\\.[a-z0-9]+$',
        description: 'Route to the pool serving this EC2 type',
      }),
    ),
    globalOptions: Type.Optional(Options),
    inputs: Type.Array(JobInputSchema, { minItems: 1, maxItems: LIMITS.inputs }),
    outputs: Type.Array(JobOutputSchema, { minItems: 1, maxItems: LIMITS.outputs }),
    quality: Type.Optional(
      Type.Union(
        [
          Type.Boolean(),
          Type.Object(
            {
              mode: Type.Optional(
                Type.Union([Type.Literal('sampled'), Type.Literal('full')], {
                  description:
                    "sampled: a few 1 s windows of consecutive frames spread over the video (every n-th frame of a clip too short for them); full: every frame. Default: the fleet's",
                }),
              ),
            },
            { additionalProperties: false },
          ),
        ],
        {
          description:
            'PSNR/SSIM/VMAF of the first output against the first input: true, false, or {"mode": "full"}',
        },
      ),
    ),
    priority: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1000,
        description:
          '1 is the most urgent, 1000 the least; unset is 500. Equal priorities run in submission order',
      }),
    ),
    // Defaults are stated in words, not as `default`: a job is shown back as it was submitted.
    timeoutSeconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: LIMITS.timeoutSeconds,
        description: `Wall-clock limit for ffmpeg; unset is ${DEFAULT_TIMEOUT_SECONDS}`,
      }),
    ),
    attempts: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: LIMITS.attempts,
        description: `Tries for transient failures, with exponential backoff; unset is ${DEFAULT_ATTEMPTS}`,
      }),
    ),
    webhook: Type.Optional(
      Type.Object(
        {
          url: Type.String({
            minLength: 1,
            maxLength: 2048,
            description: 'https URL that receives job.succeeded / job.failed / job.cancelled',
          }),
          secret: Type.Optional(
            Type.String({
              minLength: 16,
              maxLength: 256,
              description: 'HMAC-SHA256 key for the X-Ffleet-Signature header; never shown back',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    split: Type.Optional(
      Type.Object(
        {
          segmentSeconds: Type.Number({
            minimum: 2,
            maximum: 600,
            description:
              'Target chunk length: the video is cut at the keyframes nearest to each multiple of it, ' +
              'chunks are encoded on many workers at once, audio once, then joined',
          }),
        },
        {
          additionalProperties: false,
          description:
            'Encode the video in chunks across the pool (one input, one file output); see docs/pipelines.md',
        },
      ),
    ),
    ladder: Type.Optional(LadderSpecSchema),
    previews: Type.Optional(PreviewsSpecSchema),
    targetQuality: Type.Optional(TargetQualitySchema),
    idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7e]+$' })),
  },
  { additionalProperties: false },
);

export type JobSpec = Static<typeof JobSpecSchema>;
export type JobInput = Static<typeof JobInputSchema>;
export type JobOutput = Static<typeof JobOutputSchema>;

/**
 * Every job is queued with a priority: BullMQ runs jobs without one before all prioritized
 * jobs, which would make an explicit priority mean "later".
 */
export const DEFAULT_PRIORITY = 500;
