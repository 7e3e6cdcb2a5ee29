import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';

/** `GET /v1/pools`: what each pool has queued and who serves it. */
export const poolRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/v1/pools',
    {
      schema: {
        operationId: 'listPools',
        summary: "Each pool's queue depth, workers online and their ffmpeg capabilities",
        description:
          'Per pool: jobs by queue state, the workers that sent a heartbeat in the last 30 s ' +
          '(busy, concurrency) and the encoders and hwaccels their ffmpeg can use on that machine.',
        tags: ['pools'],
        response: {
          200: Type.Object({ pools: Type.Array(Type.Object({}, { additionalProperties: true })) }),
        },
      },
    },
    async () => ({
      pools: await Promise.all(app.fleetConfig.pools.pools.map((p) => app.queues.poolStatus(p))),
    }),
  );
};
