import { timingSafeEqual } from 'node:crypto';
import { ErrorBodySchema } from '@ffleet/core';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/** The API's routes: everything under /v1/ and the compatibility routes under /batch/. */
function isProtected(url: string): boolean {
  return url.startsWith('/v1/') || url.startsWith('/batch/');
}

const UnauthorizedSchema = { ...ErrorBodySchema, description: 'A valid bearer token is required' };

/**
 * Bearer-token auth for the API when tokens are configured (FFLEET_API_TOKENS). Health,
 * readiness, metrics and docs stay open so probes and scrapers work. Protected routes
 * declare their 401 answer, so the OpenAPI document shows it.
 */
export const authPlugin = fp(
  async (app: FastifyInstance, opts: { tokens: string[] }) => {
    if (opts.tokens.length === 0) return;
    const tokens = opts.tokens.map((t) => Buffer.from(t));
    app.addHook('onRoute', (route) => {
      if (!isProtected(route.url) || !route.schema) return;
      route.schema = {
        ...route.schema,
        response: { ...(route.schema.response ?? {}), 401: UnauthorizedSchema },
      };
    });
    app.addHook('onRequest', async (request, reply) => {
      if (!isProtected(request.url.split('?')[0]!)) return;
      const given = Buffer.from(/^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '');
      if (!tokens.some((t) => t.length === given.length && timingSafeEqual(t, given))) {
        return reply
          .status(401)
          .header('www-authenticate', 'Bearer')
          .send({ error: 'unauthorized', message: 'a valid bearer token is required', details: null });
      }
    });
  },
  { name: 'ffleet-auth' },
);
