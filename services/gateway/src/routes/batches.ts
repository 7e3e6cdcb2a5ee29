import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  BATCH_JSON_LIMITS,
  BatchAcceptedSchema,
  BatchItemsPageSchema,
  BatchSpecSchema,
  BatchViewSchema,
  ErrorBodySchema,
  SPAN,
  traceIdOf,
  traceparentOf,
} from '@ffleet/core';
import { context, trace } from '@opentelemetry/api';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { checkOwner, ownerOf, urlPolicyOf } from '../caller.ts';
import { traceContextOf } from '../plugins/tracing.ts';
import { JobIdParams } from '../schemas.ts';

const ItemsQuery = Type.Object({
  cursor: Type.String({
    pattern: '^[0-9]{1,5}$',
    default: '0',
    description: "Where the page starts: the previous page's `nextCursor`",
  }),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'Items per page' }),
});

/** Batches: one job template over many inputs, each input an ordinary job. */
export const batchesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  /** A 403 for a scoped token's request about another token's batch (a missing one is the routes' 404). */
  const checkBatchOwner = async (request: FastifyRequest, id: string) => {
    const view = await app.queues.view(id);
    if (view) checkOwner(request, view, 'batch');
  };
  app.post(
    '/v1/batches',
    {
      bodyLimit: BATCH_JSON_LIMITS.bodyBytes,
      schema: {
        operationId: 'submitBatch',
        summary: 'Submit a batch: one job template over many inputs',
        description:
          'Inputs are a list of URLs (`items`) or the objects under an S3 folder (`itemsFrom`, listed here, ' +
          'up to `max`); output URLs are patterns with `{stem}`, `{name}`, `{ext}`, `{index}` and `{path}`. ' +
          'The template is checked like a job, every item by its URLs. Each item becomes a job; an item ' +
          'failing does not stop the others. When every item has finished, a manifest (JSON and CSV) is ' +
          'written beside the outputs and the webhook, if any, is sent. See docs/batches.md.',
        tags: ['batches'],
        body: BatchSpecSchema,
        response: { 200: BatchAcceptedSchema, 202: BatchAcceptedSchema, 400: ErrorBodySchema },
      },
    },
    async (request, reply) => {
      const { fleetConfig: config, batches } = app;
      const policy = urlPolicyOf(request);
      const traceContext = traceContextOf(request, reply) ?? context.active();
      return context.with(traceContext, async () => {
        const inputs = await batches.inputsOf(request.body, policy, app.s3);
        const traceparent = traceparentOf(traceContext);
        const { id, created, items, pool } = await batches.create(
          request.body,
          inputs,
          config.pools,
          policy,
          {
            traceparent,
            owner: ownerOf(request),
          },
        );
        trace.getSpan(traceContext)?.setAttributes({
          [SPAN.jobId]: id,
          [SPAN.jobName]: request.body.name,
          [SPAN.pool]: pool,
        });
        const traceId = traceIdOf(traceparent);
        if (!created) {
          reply.status(200);
          return batches.accepted(id, items, pool);
        }
        reply.status(202).header('location', `/v1/batches/${id}`);
        return batches.accepted(id, items, pool, traceId);
      });
    },
  );

  app.get(
    '/v1/batches/:id',
    {
      schema: {
        operationId: 'getBatch',
        summary: 'A batch: state, item counts, manifest',
        description:
          'Items queued, running, succeeded, failed and cancelled; the manifest URLs once the batch has finished.',
        tags: ['batches'],
        params: JobIdParams,
        response: { 200: BatchViewSchema, 404: ErrorBodySchema },
      },
    },
    async (request) => {
      await checkBatchOwner(request, request.params.id);
      return app.batches.view(request.params.id);
    },
  );

  app.get(
    '/v1/batches/:id/items',
    {
      schema: {
        operationId: 'listBatchItems',
        summary: "A page of a batch's items",
        description: "Items in order: index, input, job id, state and, for a failed item, its error's code.",
        tags: ['batches'],
        params: JobIdParams,
        querystring: ItemsQuery,
        response: { 200: BatchItemsPageSchema, 400: ErrorBodySchema, 404: ErrorBodySchema },
      },
    },
    async (request) => {
      await checkBatchOwner(request, request.params.id);
      return app.batches.items(request.params.id, Number(request.query.cursor), request.query.limit);
    },
  );

  app.delete(
    '/v1/batches/:id',
    {
      schema: {
        operationId: 'cancelBatch',
        summary: 'Cancel a batch: queued items are removed, running ones stopped',
        description:
          'Answers with the batch as it is after the request; the manifest is still written, with the items ' +
          'that finished. `409` when the batch has already finished.',
        tags: ['batches'],
        params: JobIdParams,
        response: { 202: BatchViewSchema, 404: ErrorBodySchema, 409: ErrorBodySchema },
      },
    },
    async (request, reply) => {
      await checkBatchOwner(request, request.params.id);
      return reply.status(202).send(await app.batches.cancel(request.params.id));
    },
  );
};
