import type { FleetConfig } from '@ffleet/core';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { FleetQueues } from '../jobs/fleet-queues.ts';

export async function poolRoutes(
  app: FastifyInstance,
  opts: { config: FleetConfig; queues: FleetQueues },
): Promise<void> {
  app.get(
    '/v1/pools',
    {
      schema: {
        summary: "Each pool's queue depth, workers online and their ffmpeg capabilities",
        tags: ['pools'],
        response: {
          200: Type.Object({ pools: Type.Array(Type.Object({}, { additionalProperties: true })) }),
        },
      },
    },
    async () => ({ pools: await Promise.all(opts.config.pools.pools.map((p) => opts.queues.poolStatus(p))) }),
  );
}
