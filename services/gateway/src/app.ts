import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { type FleetConfig, S3Store } from '@ffleet/core';
import type { Tracer } from '@opentelemetry/api';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { Redis } from 'ioredis';
import { FleetQueues } from './jobs/fleet-queues.ts';
import { authPlugin } from './plugins/auth.ts';
import { errorsPlugin } from './plugins/errors.ts';
import { jsonLimitsPlugin } from './plugins/json-limits.ts';
import { metricsPlugin } from './plugins/metrics.ts';
import { tracingPlugin } from './plugins/tracing.ts';
import { batchRoutes } from './routes/batch.ts';
import { eventRoutes, queueEventsFactory } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { jobRoutes } from './routes/jobs.ts';
import { poolRoutes } from './routes/pools.ts';
import { uploadRoutes } from './routes/uploads.ts';

export interface GatewayOptions {
  config: FleetConfig;
  /** Bearer tokens; empty disables auth. */
  apiTokens?: string[];
  logger?: FastifyServerOptions['logger'];
  bodyLimitBytes?: number;
  /** Spans of job submissions; default: the process's global tracer (a no-op when tracing is off). */
  tracer?: Tracer;
  /** The tracing UI's address of a trace without its id (e.g. http://jaeger:16686/trace/), for job links. */
  traceUiUrl?: string;
  /** Serve /metrics (default true). */
  metrics?: boolean;
}

/** Builds the gateway: schema-first routes, one plugin per concern. */
export async function buildGateway(options: GatewayOptions): Promise<FastifyInstance> {
  const { config } = options;
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimitBytes ?? 256 * 1024,
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  const queues = new FleetQueues(config.pools, redis, config.queuePrefix, {
    webhookPolicy: config.urlPolicy.webhooks ?? {},
    traceUiUrl: options.traceUiUrl,
  });
  const queueEvents = queueEventsFactory(
    config.redisUrl,
    config.queuePrefix,
    (pool) => config.pools.get(pool)!.queue,
  );
  const s3 = new S3Store(config.s3);

  app.addHook('onClose', async () => {
    await queueEvents.close();
    await queues.close();
    redis.disconnect();
    s3.client.destroy();
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'ffleet gateway',
        version: '1',
        description: 'Run FFmpeg jobs on a Kubernetes worker fleet',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: options.apiTokens?.length ? [{ bearer: [] }] : [],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(errorsPlugin);
  await app.register(jsonLimitsPlugin);
  await app.register(tracingPlugin, { tracer: options.tracer });
  if (options.metrics !== false) {
    await app.register(metricsPlugin, { pools: config.pools.pools.map((p) => p.name), queues });
  }
  await app.register(authPlugin, { tokens: options.apiTokens ?? [] });
  await app.register(healthRoutes, { redis });
  await app.register(jobRoutes, { config, queues });
  await app.register(eventRoutes, { queues, queueEvents: (pool) => queueEvents.get(pool) });
  await app.register(poolRoutes, { config, queues });
  await app.register(batchRoutes, { config, queues });
  await app.register(uploadRoutes, { config, s3 });
  return app;
}
