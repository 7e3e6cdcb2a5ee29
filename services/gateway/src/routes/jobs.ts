import { FfleetError, type FleetConfig, JobSpecSchema, validateJob } from '@ffleet/core';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { FleetQueues } from '../jobs/fleet-queues.ts';
import { jobLinks } from '../jobs/view.ts';
import { ErrorSchema, JobAcceptedSchema, JobIdParams, JobViewSchema } from '../schemas.ts';

export interface JobRoutesOptions {
  config: FleetConfig;
  queues: FleetQueues;
}

/**
 * Validates a job fully (schema, pool, command model) and queues it on its pool.
 * Shared by `POST /v1/jobs` and the AWS-sample compatibility route.
 */
export async function submitJob(
  body: unknown,
  opts: JobRoutesOptions,
  reply: FastifyReply,
  traceparent?: string,
): Promise<FastifyReply> {
  const { spec, pool } = validateJob(body, opts.config.pools, opts.config.urlPolicy);
  const { id, created } = await opts.queues.enqueue(spec, pool, traceparent);
  if (!created) {
    const existing = await opts.queues.view(id);
    if (existing)
      return reply.status(200).send({ id, state: existing.state, pool: existing.pool, links: jobLinks(id) });
  }
  return reply
    .status(202)
    .header('location', `/v1/jobs/${id}`)
    .send({ id, state: 'queued', pool: pool.name, links: jobLinks(id) });
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
    },
    (request, reply) =>
      submitJob(request.body, opts, reply, request.headers.traceparent as string | undefined),
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
