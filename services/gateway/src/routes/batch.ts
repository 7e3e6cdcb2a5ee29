import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  BatchExecuteBodySchema,
  batchExecuteToJobSpec,
  ErrorBodySchema,
  JobAcceptedSchema,
} from '@ffleet/core';
import { Type } from '@sinclair/typebox';
import { submitJob } from './submit.ts';

/**
 * `POST /batch/execute/:compute`: the AWS "Batch with FFmpeg" sample's request body, so its
 * clients switch by changing the endpoint. The job then goes through the same checks.
 */
export const batchRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/batch/execute/:compute',
    {
      schema: {
        operationId: 'batchExecute',
        summary: 'AWS Batch-with-FFmpeg sample compatible submit',
        description:
          "Takes the sample's body (`global_options`, `input_file_options`, comma-separated `input_url`, " +
          '`output_file_options`, `output_url`, `name`, `instance_type`) and submits it as a job.',
        tags: ['compatibility'],
        params: Type.Object({
          compute: Type.String({
            pattern: '^[a-z][a-z0-9-]{0,30}$',
            description: 'Pool family, as in a job',
          }),
        }),
        body: BatchExecuteBodySchema,
        response: { 200: JobAcceptedSchema, 202: JobAcceptedSchema, 400: ErrorBodySchema },
      },
    },
    (request, reply) =>
      submitJob(batchExecuteToJobSpec(request.params.compute, request.body), request, reply),
  );
};
