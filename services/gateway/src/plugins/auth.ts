import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/**
 * Bearer-token auth for the API when tokens are configured (FFLEET_API_TOKENS). Health,
 * readiness, metrics and docs stay open so probes and scrapers work.
 */
export const authPlugin = fp(async (app: FastifyInstance, opts: { tokens: string[] }) => {
  if (opts.tokens.length === 0) return;
  const tokens = opts.tokens.map((t) => Buffer.from(t));
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0]!;
    if (!path.startsWith('/v1/') && !path.startsWith('/batch/')) return;
    const given = Buffer.from(/^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1] ?? '');
    if (!tokens.some((t) => t.length === given.length && timingSafeEqual(t, given))) {
      return reply
        .status(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'unauthorized', message: 'a valid bearer token is required', details: null });
    }
  });
});
