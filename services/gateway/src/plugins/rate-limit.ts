import rateLimit from '@fastify/rate-limit';
import { keys, TooBusyError } from '@ffleet/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { isProtected } from './auth.ts';
import { INFRASTRUCTURE } from './infrastructure.ts';

export interface RateLimitSettings {
  /** Requests per window per API token (or client address without tokens); 0 is no limit. */
  max: number;
  windowSeconds: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The rate limit of a request's token (per window), or undefined when there is none. */
    rateLimitOf(request: FastifyRequest): { max: number; windowSeconds: number } | undefined;
  }
}

/** Who a request is counted as: its token's name, or its address when the API has no tokens. */
function counted(request: FastifyRequest): string {
  return request.caller ? `token:${request.caller.name}` : `ip:${request.ip}`;
}

/**
 * Per-token rate limits on the API (`/v1/*`, `/batch/*`), counted in the fleet's Redis so every
 * gateway replica shares them (@fastify/rate-limit's Redis store, on the gateway's connection:
 * its commands are bounded like the routes', and a Redis that is away makes the request a 503
 * `unavailable`, see errors.ts). Past the limit: 429 `rate_limited` with `Retry-After`.
 * A token's own `rateLimit` (tokens file) overrides the gateway's. `counted` is false when
 * neither the gateway nor any token has a limit: then no request is counted.
 */
export const rateLimitPlugin = fp(
  async (app: FastifyInstance, settings: RateLimitSettings & { counted: boolean }) => {
    const maxOf = (request: FastifyRequest) => request.caller?.rateLimit ?? settings.max;
    app.decorate('rateLimitOf', (request: FastifyRequest) => {
      const max = maxOf(request);
      return max > 0 ? { max, windowSeconds: settings.windowSeconds } : undefined;
    });
    await app.register(rateLimit, {
      // Without a limit anywhere nothing is counted; the store still counts refused tokens (auth.ts).
      global: settings.counted,
      // After auth (an onRequest hook), so the count is the token's.
      hook: 'preValidation',
      redis: app.redis,
      nameSpace: keys.rateLimit(app.fleetConfig.queuePrefix),
      timeWindow: settings.windowSeconds * 1000,
      max: (request) => maxOf(request),
      keyGenerator: counted,
      // Probes, metrics, docs and tokens without a limit are never counted.
      allowList: (request) => !isProtected(request.url.split('?')[0]!) || maxOf(request) === 0,
      onExceeded: (request) => app.gatewayMetrics?.rateLimited.inc({ token: request.caller?.name ?? 'none' }),
      errorResponseBuilder: (request, context) =>
        new TooBusyError(
          'rate_limited',
          `${request.caller ? `token ${request.caller.name}` : 'this client'} made more than ${context.max} requests in ${settings.windowSeconds} s; try again in ${context.after}`,
          Math.max(1, Math.ceil(context.ttl / 1000)),
          { max: context.max, windowSeconds: settings.windowSeconds },
        ),
    });
  },
  { name: 'ffleet-rate-limit', fastify: '5.x', dependencies: [INFRASTRUCTURE] },
);
