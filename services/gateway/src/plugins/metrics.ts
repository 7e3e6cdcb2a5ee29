import {
  createMetricsRegistry,
  type GatewayMetrics,
  type QueueJobState,
  registerGatewayMetrics,
} from '@ffleet/core';
import type { FastifyInstance } from 'fastify';
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

    // A refused submission: count it by the error code the client got.
    app.addHook('onSend', (request, reply, payload, done) => {
      if (reply.statusCode >= 400 && reply.statusCode < 500 && isJobSubmission(request)) {
        let reason = `http_${reply.statusCode}`;
        if (typeof payload === 'string') {
          try {
            const code = (JSON.parse(payload) as { error?: unknown }).error;
            if (typeof code === 'string' && /^[a-z_]{1,40}$/.test(code)) reason = code;
          } catch {
            /* not JSON: keep the status */
          }
        }
        metrics.jobsRejected.inc({ reason });
      }
      done(null, payload);
    });
  },
  { name: 'ffleet-metrics', dependencies: [INFRASTRUCTURE] },
);
