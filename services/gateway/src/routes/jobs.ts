import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  ErrorBodySchema,
  FfleetError,
  JobAcceptedSchema,
  JobSpecSchema,
  JobStateSchema,
  JobViewSchema,
  WebhookBodySchema,
  WebhookDeliveryViewSchema,
  webhookEventFor,
} from '@ffleet/core';
import { Type } from '@sinclair/typebox';
import { checkOwner, listedOwner } from '../caller.ts';
import { JobIdParams } from '../schemas.ts';
import { submitJob } from './submit.ts';

/**
 * The body of `POST /v1/jobs`, documented by the job schema but typed `unknown`: validateJob
 * checks it (the same compiled schema the worker uses), so a job gets one check and the same
 * errors wherever it is refused.
 */
const JobSubmission = Type.Unsafe<unknown>(JobSpecSchema);

declare module 'fastify' {
  interface FastifySchema {
    /** OpenAPI callbacks of an operation (@fastify/swagger puts them in the document). */
    callbacks?: Record<string, Record<string, Record<string, unknown>>>;
  }
}

/** The request a job's `webhook.url` receives when the job finishes, in the OpenAPI document. */
const webhookCallback = {
  jobFinished: {
    '{$request.body#/webhook/url}': {
      post: {
        requestBody: {
          description:
            "Signed with the job's `webhook.secret`: `X-Ffleet-Signature: sha256=<hex>` is the HMAC-SHA256 of " +
            '`<X-Ffleet-Timestamp>.<body>`. `X-Ffleet-Event` repeats the event.',
          required: true,
          content: { 'application/json': { schema: WebhookBodySchema } },
        },
        responses: {
          '2XX': {
            description:
              'Received. Network errors, 408, 429 and 5xx are tried again with exponential backoff; any other answer ends the delivery',
          },
        },
      },
    },
  },
};

const ListQuery = Type.Object({
  state: Type.Optional(JobStateSchema),
  pool: Type.Optional(Type.String({ maxLength: 32, description: 'Only jobs of this pool' })),
  name: Type.Optional(Type.String({ maxLength: 128, description: 'Only jobs of this name' })),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 50, description: 'At most this many jobs' }),
});

/** Submit, look up, list and cancel jobs. */
export const jobRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/v1/jobs',
    {
      schema: {
        operationId: 'submitJob',
        summary: 'Submit an FFmpeg job',
        description:
          'Validates the job (schema, pool, the FFmpeg command model) and queues it on its pool. ' +
          'A job whose `idempotencyKey` was seen in the last 24 h is not queued again: the answer is `200` with that job.',
        tags: ['jobs'],
        body: JobSubmission,
        response: { 200: JobAcceptedSchema, 202: JobAcceptedSchema, 400: ErrorBodySchema },
        callbacks: webhookCallback,
      },
      validatorCompiler: () => () => true,
    },
    (request, reply) => submitJob(request.body, request, reply),
  );

  app.get(
    '/v1/jobs',
    {
      schema: {
        operationId: 'listJobs',
        summary: 'List jobs, newest first',
        description:
          'Jobs of every pool, or of one, filtered by state and name; a token scoped to prefixes lists only its own jobs.',
        tags: ['jobs'],
        querystring: ListQuery,
        response: { 200: Type.Object({ jobs: Type.Array(JobViewSchema) }), 400: ErrorBodySchema },
      },
    },
    async (request) => {
      const { pools } = app.fleetConfig;
      if (request.query.pool && !pools.get(request.query.pool)) {
        throw new FfleetError('unknown_pool', `pool "${request.query.pool}" does not exist`, 400, {
          available: pools.pools.map((p) => p.name),
        });
      }
      return { jobs: await app.queues.list({ ...request.query, owner: listedOwner(request) }) };
    },
  );

  app.get(
    '/v1/jobs/:id',
    {
      schema: {
        operationId: 'getJob',
        summary: 'A job: state, progress, timings, outputs, error',
        description:
          'State, progress, attempts, time per stage, outputs with sizes, the quality summary, ' +
          "the trace id and, for a failed job, its error with ffmpeg's last stderr lines.",
        tags: ['jobs'],
        params: JobIdParams,
        response: { 200: JobViewSchema, 404: ErrorBodySchema },
      },
    },
    async (request) => {
      const view = await app.queues.view(request.params.id);
      if (!view) throw new FfleetError('not_found', `job ${request.params.id} does not exist`, 404);
      checkOwner(request, view);
      return view;
    },
  );

  app.delete(
    '/v1/jobs/:id',
    {
      schema: {
        operationId: 'cancelJob',
        summary: 'Cancel a job: a queued job is removed, a running ffmpeg is killed',
        description: 'Answers with the job as it is after the request; `409` when it has already finished.',
        tags: ['jobs'],
        params: JobIdParams,
        response: { 202: JobViewSchema, 404: ErrorBodySchema, 409: ErrorBodySchema },
      },
    },
    async (request, reply) => {
      const view = await app.queues.view(request.params.id);
      if (!view) throw new FfleetError('not_found', `job ${request.params.id} does not exist`, 404);
      checkOwner(request, view);
      return reply.status(202).send(await app.queues.cancel(request.params.id));
    },
  );

  app.post(
    '/v1/jobs/:id/webhook/redeliver',
    {
      schema: {
        operationId: 'redeliverJobWebhook',
        summary: "Send a finished job's webhook again",
        description:
          "Queues a new delivery of the job's last event (the same body, signed afresh) and answers with it; " +
          "the job view's `webhookDeliveries` follows it. `409` when the job has no webhook or has not finished.",
        tags: ['jobs'],
        params: JobIdParams,
        response: { 202: WebhookDeliveryViewSchema, 404: ErrorBodySchema, 409: ErrorBodySchema },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const view = await app.queues.view(id);
      if (!view) throw new FfleetError('not_found', `job ${id} does not exist`, 404);
      if (!view.spec.webhook) throw new FfleetError('no_webhook', `job ${id} has no webhook`, 409);
      const event = webhookEventFor(view.state);
      if (!event)
        throw new FfleetError(
          'conflict',
          `job ${id} is ${view.state}: its webhook is sent when it finishes`,
          409,
          {
            state: view.state,
          },
        );
      return reply.status(202).send(await app.queues.webhooks.redeliver(id, event));
    },
  );
};
