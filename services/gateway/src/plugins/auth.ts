import { timingSafeEqual } from 'node:crypto';
import { ErrorBodySchema, TooBusyError } from '@ffleet/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { ApiToken, Caller } from '../tokens.ts';
import { countRefusal } from './metrics.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The token that made this request (its name and scope); undefined when the API has no tokens. */
    caller?: Caller;
  }
}

/** The API's routes: everything under /v1/ and the compatibility routes under /batch/. */
export function isProtected(url: string): boolean {
  return url.startsWith('/v1/') || url.startsWith('/batch/');
}

const UnauthorizedSchema = { ...ErrorBodySchema, description: 'A valid bearer token is required' };
const ForbiddenSchema = {
  ...ErrorBodySchema,
  description: "The token's scope does not cover this (a URL outside its prefixes, another token's job)",
};

/**
 * Bearer-token auth for the API when tokens are configured (FFLEET_API_TOKENS,
 * FFLEET_API_TOKENS_FILE): each request's token becomes `request.caller`, which the routes
 * hold to its prefixes and its own jobs. Health, readiness, metrics and docs stay open so
 * probes and scrapers work. Protected routes declare their 401 and 403 answers, so the OpenAPI
 * document shows them. A client address that sends more than `failuresPerMinute` requests
 * without a valid token gets 429 `rate_limited` instead of 401 for the rest of the minute,
 * counted in Redis across replicas (the rate-limit plugin's store).
 */
export const authPlugin = fp(
  async (app: FastifyInstance, opts: { tokens: readonly ApiToken[]; failuresPerMinute: number }) => {
    if (opts.tokens.length === 0) return;
    const failures =
      opts.failuresPerMinute > 0
        ? app.createRateLimit({
            max: opts.failuresPerMinute,
            timeWindow: 60_000,
            keyGenerator: (request) => `unauthorized:${request.ip}`,
          })
        : undefined;
    /** Counts a refused request; a 429 once its address is past the limit. */
    const countFailure = async (request: FastifyRequest) => {
      const state = await failures?.(request).catch(() => undefined);
      if (state && !state.isAllowed && state.isExceeded)
        throw new TooBusyError(
          'rate_limited',
          `this address sent more than ${state.max} requests without a valid token in a minute; try again in ${state.ttlInSeconds} s`,
          Math.max(1, state.ttlInSeconds),
          { max: state.max, windowSeconds: 60 },
        );
    };
    const tokens = opts.tokens.map(({ token, ...caller }) => ({ bytes: Buffer.from(token), caller }));
    app.decorateRequest('caller', undefined);
    app.addHook('onRoute', (route) => {
      if (!isProtected(route.url) || !route.schema) return;
      route.schema = {
        ...route.schema,
        response: { ...(route.schema.response ?? {}), 401: UnauthorizedSchema, 403: ForbiddenSchema },
      };
    });
    app.addHook('onRequest', async (request, reply) => {
      if (!isProtected(request.url.split('?')[0]!)) return;
      const given = Buffer.from(/^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '');
      // Every token is compared (in constant time each), so the answer's timing names none.
      let found: Caller | undefined;
      for (const { bytes, caller } of tokens) {
        if (bytes.length === given.length && timingSafeEqual(bytes, given)) found ??= caller;
      }
      if (!found) {
        await countFailure(request);
        countRefusal(request, 401, 'unauthorized');
        return reply
          .status(401)
          .header('www-authenticate', 'Bearer')
          .send({ error: 'unauthorized', message: 'a valid bearer token is required', details: null });
      }
      request.caller = found;
    });
  },
  // After the rate-limit plugin, whose Redis store counts the refusals.
  { name: 'ffleet-auth', dependencies: ['ffleet-rate-limit'] },
);
