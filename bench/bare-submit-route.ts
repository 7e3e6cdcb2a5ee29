/**
 * The baseline of `submit_vs_bare_route_ratio`: a bare Fastify server whose one route does
 * what the gateway's `POST /v1/jobs` does to Redis (the same `Queue.add`, with the gateway's
 * jobOptions) and nothing else: no validation, no idempotency, no tracing, no metrics, no logs.
 * Run as its own process, like the gateway: PORT, REDIS_URL, QUEUE and PREFIX from the
 * environment; prints `listening` when ready.
 */
import { randomUUID } from 'node:crypto';
import { jobOptions } from '@ffleet/core';
import { Queue } from 'bullmq';
import Fastify from 'fastify';
import { Redis } from 'ioredis';

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const redis = new Redis(env('REDIS_URL'), { maxRetriesPerRequest: null });
const queue = new Queue(env('QUEUE'), { connection: redis, prefix: env('PREFIX') });
const app = Fastify();

app.post('/v1/jobs', async (request, reply) => {
  const id = randomUUID();
  await queue.add('bare', { spec: request.body, pool: 'bare', submittedAt: Date.now() }, jobOptions(id, {}));
  return reply.status(202).send({ id });
});

await app.listen({ host: '127.0.0.1', port: Number(env('PORT')) });
process.stdout.write('listening\n');
process.once('SIGTERM', async () => {
  await app.close();
  await queue.close();
  redis.disconnect();
  process.exit(0);
});
