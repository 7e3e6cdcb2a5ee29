import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';

/** Liveness needs only the process; readiness needs Redis, where every job goes. */
export async function healthRoutes(app: FastifyInstance, opts: { redis: Redis }): Promise<void> {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    try {
      await opts.redis.ping();
      return { status: 'ready' };
    } catch (error) {
      return reply.status(503).send({
        error: 'not_ready',
        message: `redis unreachable: ${(error as Error).message}`,
        details: null,
      });
    }
  });
}
