import { BatchExecuteBodySchema, batchExecuteToJobSpec } from '@ffleet/core';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorSchema, JobAcceptedSchema } from '../schemas.ts';
import { type JobRoutesOptions, submitJob } from './jobs.ts';

/**
 * `POST /batch/execute/:compute`: the AWS "Batch with FFmpeg" sample's request body, so its
 * clients switch by changing the endpoint. The job then goes through the same checks.
 */
export async function batchRoutes(app: FastifyInstance, opts: JobRoutesOptions): Promise<void> {
  app.post(
    '/batch/execute/:compute',
    {
      schema: {
        summary: 'AWS Batch-with-FFmpeg sample compatible submit',
        tags: ['compatibility'],
        params: Type.Object({ compute: Type.String({ pattern: '^[a-z][a-z0-9-]{0,30}$' }) }),
        body: BatchExecuteBodySchema,
        response: { 200: JobAcceptedSchema, 202: JobAcceptedSchema, 400: ErrorSchema },
      },
    },
    (request, reply) => {
      const { compute } = request.params as { compute: string };
      const spec = batchExecuteToJobSpec(compute, request.body as never);
      return submitJob(spec, opts, request, reply);
    },
  );
}
