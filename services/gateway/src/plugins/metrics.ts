import {
  createMetricsRegistry,
  type GatewayMetrics,
  type QueueJobState,
  registerGatewayMetrics,
} from '@ffleet/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { INFRASTRUCTURE } from './infrastructure.ts';
import { isJobSubmission } from './job-submissions.ts';

const COUNTED_STATES: QueueJobState[] = [
  'waiting',
  'prioritized',
  'delayed',
  'paused',
  'active',
  'completed',
  'failed',
  'waiting-children',
];

declare module 'fastify' {
  interface FastifyInstance {
    /** Counters the routes update (jobs submitted); undefined when metrics are off. */
    gatewayMetrics?: GatewayMetrics;
  }
}

/**
 * Counts a submission refused with a 4xx by the error code of its answer (errors.ts and auth.ts
 * call it where they answer), so no hook runs on every request.
 */
export function countRefusal(request: FastifyRequest, status: number, code: string): void {
  if (status < 400 || status >= 500 || !isJobSubmission(request)) return;
  // Codes are ffleet's and Fastify's own; anything else is counted by its status.
  const reason = /^[a-z_]{1,40}$/.test(code) ? code : `http_${status}`;
  request.server.gatewayMetrics?.jobsRejected.inc({ reason });
}

/**
 * `GET /metrics` for Prometheus: queue depth, cap and job counts per pool (read from Redis at
 * scrape time), jobs submitted per pool, submissions refused per error code (`queue_full`,
 * `rate_limited` among them), requests rate-limited per token, and Node's process metrics.
 */
export const metricsPlugin = fp(
  async (app: FastifyInstance) => {
    const registry = createMetricsRegistry({ service: 'ffleet-gateway' });
    const metrics = registerGatewayMetrics(registry, {
      pools: app.fleetConfig.pools.pools.map((p) => p.name),
      readQueueCounts: (pool) => app.queues.queue(pool).getJobCounts(...COUNTED_STATES),
      queueCaps: new Map(
        app.fleetConfig.pools.pools.flatMap((p) =>
          p.maxQueued === undefined ? [] : [[p.name, p.maxQueued]],
        ),
      ),
    });
    app.decorate('gatewayMetrics', metrics);

    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
      reply.type(registry.contentType).send(await registry.metrics()),
    );
  },
  { name: 'ffleet-metrics', dependencies: [INFRASTRUCTURE] },
);
