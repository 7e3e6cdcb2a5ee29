import {
  FfleetError,
  type FleetConfig,
  JobSpecSchema,
  SPAN,
  traceIdOf,
  traceparentOf,
  validateJob,
} from '@ffleet/core';
import { context, trace } from '@opentelemetry/api';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FleetQueues } from '../jobs/fleet-queues.ts';
import { ErrorSchema, JobAcceptedSchema, JobIdParams, JobViewSchema } from '../schemas.ts';

export interface JobRoutesOptions {
  config: FleetConfig;
  queues: FleetQueues;
}

/**
 * Validates a job fully (schema, pool, command model) and queues it on its pool, with the
 * trace context of this request's span, so the worker continues the same trace.
 * Shared by `POST /v1/jobs` and the AWS-sample compatibility route.
 */
export async function submitJob(
  body: unknown,
  opts: JobRoutesOptions,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const traceContext = request.traceContext ?? context.active();
  return context.with(traceContext, async () => {
    const { spec, pool } = validateJob(body, opts.config.pools, opts.config.urlPolicy);
    const traceparent = traceparentOf(traceContext);
    const { id, created } = await opts.queues.enqueue(spec, pool, traceparent);
    trace.getSpan(traceContext)?.setAttributes({
      [SPAN.jobId]: id,
      [SPAN.jobName]: spec.name,
      [SPAN.pool]: pool.name,
    });
    if (!created) {
      const existing = await opts.queues.view(id);
      if (existing) {
        const { state, pool: existingPool, links, traceId } = existing;
        return reply
          .status(200)
          .send({ id, state, pool: existingPool, links, ...(traceId ? { traceId } : {}) });
      }
    }
    request.server.gatewayMetrics?.jobsSubmitted.inc({ pool: pool.name });
    const traceId = traceIdOf(traceparent);
    return reply
      .status(202)
      .header('location', `/v1/jobs/${id}`)
      .send({
        id,
        state: 'queued',
        pool: pool.name,
        links: opts.queues.links(id, traceId),
        ...(traceId ? { traceId } : {}),
      });
  });
}

export async function jobRoutes(app: FastifyInstance, opts: JobRoutesOptions): Promise<void> {
  const { queues } = opts;

  app.post(
    '/v1/jobs',
    {
      schema: {
        summary: 'Submit an FFmpeg job',
        tags: ['jobs'],
        body: JobSpecSchema,
        response: { 200: JobAcceptedSchema, 202: JobAcceptedSchema, 400: ErrorSchema },
      },
      // The schema documents the body; validateJob checks it (the same compiled schema the
      // worker uses), so a job gets one check and the same errors wherever it is refused.
      validatorCompiler: () => () => true,
    },
    (request, reply) => submitJob(request.body, opts, request, reply),
  );

  app.get(
    '/v1/jobs',
    {
      schema: {
        summary: 'List jobs, newest first',
        tags: ['jobs'],
        querystring: Type.Object({
          state: Type.Optional(
            Type.Union(['queued', 'running', 'succeeded', 'failed', 'cancelled'].map((s) => Type.Literal(s))),
          ),
          pool: Type.Optional(Type.String({ maxLength: 32 })),
          name: Type.Optional(Type.String({ maxLength: 128 })),
          limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
        }),
        response: { 200: Type.Object({ jobs: Type.Array(JobViewSchema) }), 400: ErrorSchema },
      },
    },
    async (request) => {
      const query = request.query as { state?: string; pool?: string; name?: string; limit: number };
      if (query.pool && !opts.config.pools.get(query.pool)) {
        throw new FfleetError('unknown_pool', `pool "${query.pool}" does not exist`, 400, {
          available: opts.config.pools.pools.map((p) => p.name),
        });
      }
      return { jobs: await queues.list(query) };
    },
  );

  app.get(
    '/v1/jobs/:id',
    {
      schema: {
        summary: 'A job: state, progress, timings, outputs, error',
        tags: ['jobs'],
        params: JobIdParams,
        response: { 200: JobViewSchema, 404: ErrorSchema },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const view = await queues.view(id);
      if (!view) throw new FfleetError('not_found', `job ${id} does not exist`, 404);
      return view;
    },
  );

  app.delete(
    '/v1/jobs/:id',
    {
      schema: {
        summary: 'Cancel a job: a queued job is removed, a running ffmpeg is killed',
        tags: ['jobs'],
        params: JobIdParams,
        response: { 202: JobViewSchema, 404: ErrorSchema, 409: ErrorSchema },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      return reply.status(202).send(await queues.cancel(id));
    },
  );
}
