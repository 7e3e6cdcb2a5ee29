import { type Static, type TSchema, Type } from '@sinclair/typebox';
import {
  type JobData,
  type JobFailure,
  JobFailureSchema,
  type JobResult,
  JobTimingsSchema,
  OutputResultSchema,
  QualitySummarySchema,
} from '../jobs/record.ts';
import { type JobState, JobStateSchema } from '../jobs/state.ts';
import { BatchCountsSchema } from '../pipelines/state.ts';

export const WebhookEventSchema = Type.Union(
  [Type.Literal('job.succeeded'), Type.Literal('job.failed'), Type.Literal('job.cancelled')],
  { description: 'What happened: a job succeeded, failed after its last attempt, or was cancelled' },
);
export type WebhookEvent = Static<typeof WebhookEventSchema>;

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** What a webhook receiver gets about a finished job (the same fields as GET /v1/jobs/:id). */
export const WebhookJobPayloadSchema = Type.Object({
  job: Type.Object({
    id: Type.String(),
    name: Type.String(),
    pool: Type.String(),
    state: JobStateSchema,
    attempts: Type.Integer({ minimum: 0, description: 'Attempts made' }),
    outputs: Nullable(Type.Array(OutputResultSchema)),
    timings: Nullable(JobTimingsSchema),
    quality: Nullable(QualitySummarySchema),
    metricsUrl: Nullable(Type.String()),
    error: Nullable(JobFailureSchema),
    links: Type.Object({ self: Type.String() }),
    batch: Type.Optional(
      Type.Object(
        {
          counts: BatchCountsSchema,
          manifest: Type.Object({ json: Type.String(), csv: Type.String() }),
        },
        { description: "A batch's items in each state at its end, and where its manifest is" },
      ),
    ),
  }),
});
export type WebhookJobPayload = Static<typeof WebhookJobPayloadSchema>;

/**
 * The JSON body of a webhook request: the event, when it was sent, and the job. Signed with
 * the job's secret (`X-Ffleet-Signature`, see webhook.ts).
 */
export const WebhookBodySchema = Type.Composite(
  [
    Type.Object({
      event: WebhookEventSchema,
      sentAt: Type.String({ description: 'ISO 8601 time, UTC' }),
    }),
    WebhookJobPayloadSchema,
  ],
  { description: "A finished job's webhook" },
);
export type WebhookBody = Static<typeof WebhookBodySchema>;

export function webhookEventFor(state: JobState): WebhookEvent | undefined {
  if (state === 'succeeded') return 'job.succeeded';
  if (state === 'failed') return 'job.failed';
  if (state === 'cancelled') return 'job.cancelled';
  return undefined;
}

export function webhookPayload(
  id: string,
  data: JobData,
  state: JobState,
  attempts: number,
  result: JobResult | null,
  error: JobFailure | null,
): WebhookJobPayload {
  const pipeline = data.pipeline;
  const batch =
    pipeline?.kind === 'batch' && pipeline.counts
      ? { batch: { counts: pipeline.counts, manifest: pipeline.manifest } }
      : {};
  return {
    job: {
      id,
      name: data.spec.name,
      pool: data.pool,
      state,
      attempts,
      outputs: result?.outputs ?? null,
      timings: result?.timings ?? null,
      quality: result?.quality ?? null,
      metricsUrl: result?.metricsUrl ?? null,
      error,
      links: { self: `/v1/jobs/${id}` },
      ...batch,
    },
  };
}
