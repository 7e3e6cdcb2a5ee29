import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';

/** `GET /v1/pools`: what each pool has queued, its cap, who serves it, and the caller's rate limit. */
export const poolRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/v1/pools',
    {
      schema: {
        operationId: 'listPools',
        summary: "Each pool's queue depth and cap, workers online and their ffmpeg capabilities",
        description:
          'Per pool: jobs by queue state, `queued` (waiting for a worker) against `maxQueued` (past it a ' +
          'submission gets `429 queue_full`), the workers that sent a heartbeat in the last 30 s ' +
          '(busy, concurrency) and the encoders and hwaccels their ffmpeg can use on that machine. ' +
          "`rateLimit`: the calling token's requests per window (null: no limit).",
        tags: ['pools'],
        response: {
          200: Type.Object({
            pools: Type.Array(Type.Object({}, { additionalProperties: true })),
            rateLimit: Type.Union([
              Type.Object({ max: Type.Integer(), windowSeconds: Type.Integer() }),
              Type.Null(),
            ]),
          }),
        },
      },
    },
    async (request) => ({
      pools: await Promise.all(app.fleetConfig.pools.pools.map((p) => app.queues.poolStatus(p))),
      rateLimit: app.rateLimitOf(request) ?? null,
    }),
  );
};
