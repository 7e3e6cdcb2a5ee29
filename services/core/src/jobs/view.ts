import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { PipelineViewSchema } from '../pipelines/state.ts';
import { TargetQualityResultSchema } from '../pipelines/target-quality.ts';
import { compileCheck } from '../schemas/check.ts';
import { WebhookDeliveryViewSchema } from '../webhooks/delivery.ts';
import {
  JobFailureSchema,
  JobProgressSchema,
  JobTimingsSchema,
  OutputResultSchema,
  QualitySummarySchema,
  RungQualitySchema,
} from './record.ts';
import { type JobSpec, JobSpecSchema } from './spec.ts';
import { JobStateSchema } from './state.ts';

/** A job as the API shows it: the gateway answers with it, the CLI and webhooks read it. */

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Time = Type.String({ description: 'ISO 8601 time, UTC' });

/** What a webhook secret is shown as: it is never returned. */
export const REDACTED = '[redacted]';

/** A job's spec as shown back to callers: as submitted, but the webhook secret is never returned. */
export const ShownJobSpecSchema = Type.Composite(
  [
    Type.Omit(JobSpecSchema, ['webhook']),
    Type.Object({
      webhook: Type.Optional(
        Type.Object({ url: Type.String(), secret: Type.Optional(Type.Literal(REDACTED)) }),
      ),
    }),
  ],
  { description: 'The job as submitted; a webhook secret shows as `[redacted]`' },
);
export type ShownJobSpec = Static<typeof ShownJobSpecSchema>;

export function redactSpec(spec: JobSpec): ShownJobSpec {
  const { webhook, ...rest } = spec;
  if (!webhook) return rest;
  return { ...rest, webhook: webhook.secret ? { url: webhook.url, secret: REDACTED } : { url: webhook.url } };
}

export const JobLinksSchema = Type.Object({
  self: Type.String({ description: 'This job' }),
  events: Type.String({ description: "This job's Server-Sent Events" }),
  trace: Type.Optional(Type.String({ description: 'The trace in the tracing UI (FFLEET_TRACE_UI_URL)' })),
});
export type JobLinks = Static<typeof JobLinksSchema>;

/** What `GET /v1/jobs/:id` returns. */
export const JobViewSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    pool: Type.String(),
    state: JobStateSchema,
    progress: Nullable(JobProgressSchema),
    attempts: Type.Object({
      made: Type.Integer({ minimum: 0 }),
      max: Type.Integer({ minimum: 1 }),
    }),
    createdAt: Time,
    startedAt: Nullable(Time),
    finishedAt: Nullable(Time),
    timings: Nullable(JobTimingsSchema),
    outputs: Nullable(Type.Array(OutputResultSchema, { description: 'Each output with its size' })),
    media: Nullable(
      Type.Object(
        {
          durationSeconds: Nullable(Type.Number()),
          speed: Nullable(Type.Number({ description: 'ffmpeg speed, a multiple of real time' })),
        },
        { description: 'The media ffmpeg wrote' },
      ),
    ),
    error: Nullable(JobFailureSchema),
    /** PSNR/SSIM/VMAF summary when quality was asked for, or why it was not measured. */
    quality: Nullable(QualitySummarySchema),
    metricsUrl: Nullable(
      Type.String({ description: 'The quality record (ffqm JSON) in the metrics bucket' }),
    ),
    traceId: Nullable(
      Type.String({ description: "The job's trace (W3C trace id), to look up in Jaeger or Tempo" }),
    ),
    owner: Type.Optional(
      Type.String({
        description: 'The name of the API token that submitted the job (never the token itself)',
      }),
    ),
    spec: ShownJobSpecSchema,
    links: JobLinksSchema,
    pipeline: Type.Optional(PipelineViewSchema),
    targetQuality: Type.Optional(TargetQualityResultSchema),
    rungQuality: Type.Optional(
      Type.Array(RungQualitySchema, {
        description: 'A ladder with quality asked for: each rung measured against the source',
      }),
    ),
    webhookDeliveries: Type.Optional(
      Type.Array(WebhookDeliveryViewSchema, {
        description:
          "A finished job's webhook deliveries: the first, then each redelivery (`GET /v1/jobs/{id}` only)",
      }),
    ),
  },
  { description: 'A job: state, progress, timings, outputs, quality, error' },
);
export type JobView = Static<typeof JobViewSchema>;

/** The answer to a submission: `202` for a new job, `200` for the job an idempotency key already named. */
export const JobAcceptedSchema = Type.Object(
  {
    id: Type.String(),
    state: JobStateSchema,
    pool: Type.String(),
    links: JobLinksSchema,
    traceId: Type.Optional(Type.String({ description: "The job's trace id (W3C), when traced" })),
  },
  { description: 'The job was accepted' },
);
export type JobAccepted = Static<typeof JobAcceptedSchema>;

const viewCheck = compileCheck(JobViewSchema);
/** Whether stored JSON (a cancelled job's tombstone, an API answer) is a JobView. */
export const isJobView = (value: unknown): value is JobView => viewCheck.is(value);
