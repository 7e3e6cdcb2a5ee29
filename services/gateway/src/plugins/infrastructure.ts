import { closeConnection, type FleetConfig, openRedis, type RedisClient, S3Store } from '@ffleet/core';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { FleetBatches } from '../jobs/fleet-batches.ts';
import { FleetQueues } from '../jobs/fleet-queues.ts';
import { PoolEvents } from '../jobs/pool-events.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The fleet's configuration: pools, URL policy, queue prefix, S3 settings. */
    fleetConfig: FleetConfig;
    /** The gateway's Redis connection (queues, idempotency keys, cancel markers, workers). */
    redis: RedisClient;
    /** Every pool's queue: enqueue, look up, list, cancel. */
    queues: FleetQueues;
    /** Batches: many items of one template, on the pools' queues. */
    batches: FleetBatches;
    /** Every pool's queue events, for Server-Sent Events. */
    poolEvents: PoolEvents;
    /** The object store, for presigned uploads. */
    s3: S3Store;
  }
}

export interface InfrastructureOptions {
  config: FleetConfig;
  /** The tracing UI's address of a trace without its id, for job links. */
  traceUiUrl?: string;
  /** The longest a Redis command may take before it fails (the gateway answers 503 then). */
  redisTimeoutMs: number;
}

/** The name routes and plugins name in their `dependencies`. */
export const INFRASTRUCTURE = 'ffleet-infrastructure';

/**
 * What the routes talk to (Redis, the pools' queues and their events, S3), opened once per
 * gateway, put on the instance for every route, and closed with it.
 */
export const infrastructurePlugin = fp(
  async (app: FastifyInstance, { config, traceUiUrl, redisTimeoutMs }: InfrastructureOptions) => {
    // Commands fail instead of waiting: at once while disconnected, after `redisTimeoutMs` when
    // Redis does not answer. Nothing is sent late to a Redis that comes back (no offline queue,
    // no resending on reconnect): a request that got its 503 leaves nothing behind.
    const redis = openRedis(config, {
      maxRetriesPerRequest: null,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      commandTimeout: redisTimeoutMs,
    });
    redis.on('error', (error) => app.log.warn({ err: error }, 'redis connection error'));
    // Start serving without Redis if it is away (readiness says so); wait a moment if it is near.
    await readyWithin(redis, redisTimeoutMs);
    const queues = new FleetQueues(config.pools, redis, config.queuePrefix, {
      webhookRetry: config.webhookRetry,
      traceUiUrl,
    });
    const batches = new FleetBatches(queues, redis, config.queuePrefix);
    const poolEvents = new PoolEvents(config, config.queuePrefix, (pool) => queues.queue(pool).name);
    const s3 = new S3Store(config.s3);

    app.decorate('fleetConfig', config);
    app.decorate<RedisClient>('redis', redis);
    app.decorate('queues', queues);
    app.decorate('batches', batches);
    app.decorate('poolEvents', poolEvents);
    app.decorate('s3', s3);
    app.addHook('onClose', async () => {
      await poolEvents.close();
      await batches.close();
      await queues.close();
      await closeConnection(redis);
      s3.client.destroy();
    });
  },
  { name: INFRASTRUCTURE, fastify: '5.x' },
);

/** Resolves when the connection is ready or after `ms`, whichever comes first. */
async function readyWithin(redis: RedisClient, ms: number): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    redis.once('ready', done);
    function done() {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    }
  });
}
