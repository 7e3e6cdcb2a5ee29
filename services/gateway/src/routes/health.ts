import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

/** Liveness needs only the process; readiness needs Redis, where every job goes. */
export const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    try {
      // Fails at once while disconnected, after the command timeout when Redis does not answer.
      if (app.redis.status !== 'ready') throw new Error(`connection is ${app.redis.status}`);
      await app.redis.ping();
      return { status: 'ready' };
    } catch (error) {
      return reply.status(503).send({
        error: 'not_ready',
        message: `redis unreachable: ${(error as Error).message}`,
        details: null,
      });
    }
  });
};
