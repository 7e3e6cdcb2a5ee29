import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FleetConfig } from '@ffleet/core';
import type { Tracer } from '@opentelemetry/api';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { openapiOptions } from './openapi.ts';
import { authPlugin } from './plugins/auth.ts';
import { errorsPlugin } from './plugins/errors.ts';
import { infrastructurePlugin } from './plugins/infrastructure.ts';
import { jsonLimitsPlugin } from './plugins/json-limits.ts';
import { metricsPlugin } from './plugins/metrics.ts';
import { type RateLimitSettings, rateLimitPlugin } from './plugins/rate-limit.ts';
import { tracingPlugin } from './plugins/tracing.ts';
import { batchRoutes } from './routes/batch.ts';
import { batchesRoutes } from './routes/batches.ts';
import { eventRoutes } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { jobRoutes } from './routes/jobs.ts';
import { poolRoutes } from './routes/pools.ts';
import { uploadRoutes } from './routes/uploads.ts';
import { type ApiToken, plainToken } from './tokens.ts';

export interface GatewayOptions {
  config: FleetConfig;
  /** Bearer tokens: plain ones may do anything, named ones may be scoped to prefixes; empty disables auth. */
  apiTokens?: ReadonlyArray<string | ApiToken>;
  /** Requests per window per token (default: no limit). */
  rateLimit?: RateLimitSettings;
  /** Requests without a valid token one client address may send a minute before 429s; 0: no limit. */
  authFailuresPerMinute?: number;
  logger?: FastifyServerOptions['logger'];
  bodyLimitBytes?: number;
  /** Spans of job submissions; without one (tracing off) an incoming traceparent still reaches the job. */
  tracer?: Tracer;
  /** The tracing UI's address of a trace without its id (e.g. http://jaeger:16686/trace/), for job links. */
  traceUiUrl?: string;
  /** The longest one Redis command may take; a route that meets it answers 503 `unavailable` (default 2000). */
  redisTimeoutMs?: number;
  /** Serve /metrics (default true). */
  metrics?: boolean;
}

/** Builds the gateway: schema-first routes, one plugin per concern. */
export async function buildGateway(options: GatewayOptions): Promise<FastifyInstance> {
  const tokens = (options.apiTokens ?? []).map((t) => (typeof t === 'string' ? plainToken(t) : t));
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimitBytes ?? 256 * 1024,
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const redisTimeoutMs = options.redisTimeoutMs ?? 2000;
  await app.register(infrastructurePlugin, {
    config: options.config,
    traceUiUrl: options.traceUiUrl,
    redisTimeoutMs,
  });
  await app.register(swagger, openapiOptions({ auth: tokens.length > 0 }));
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(errorsPlugin);
  await app.register(jsonLimitsPlugin);
  await app.register(tracingPlugin, { tracer: options.tracer });
  if (options.metrics !== false) await app.register(metricsPlugin);
  const rateLimit = options.rateLimit ?? { max: 0, windowSeconds: 60 };
  await app.register(rateLimitPlugin, {
    ...rateLimit,
    counted: rateLimit.max > 0 || tokens.some((t) => t.rateLimit !== undefined),
  });
  await app.register(authPlugin, { tokens, failuresPerMinute: options.authFailuresPerMinute ?? 30 });
  await app.register(healthRoutes);
  await app.register(jobRoutes);
  await app.register(eventRoutes);
  await app.register(poolRoutes);
  await app.register(batchesRoutes);
  await app.register(batchRoutes);
  await app.register(uploadRoutes);
  return app;
}
