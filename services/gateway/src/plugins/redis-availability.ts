import { FfleetError, UnavailableError } from '@ffleet/core';
import type { FastifyInstance, RouteHandlerMethod } from 'fastify';
import fp from 'fastify-plugin';
import { INFRASTRUCTURE } from './infrastructure.ts';

export interface RedisAvailabilityOptions {
  /** The longest a route that needs Redis takes before it answers 503 `unavailable`. */
  timeoutMs: number;
}

/** What ioredis says when a command could not be sent or got no answer in time. */
const CONNECTION_FAILURES = [
  'Command timed out',
  "Stream isn't writeable",
  'Connection is closed',
  'Reached the max retries per request limit',
];

/**
 * The 503 an error stands for when it is Redis failing (not answering, disconnected), else
 * undefined: for Redis commands outside the routes' handlers (the rate limit's count).
 */
export function redisUnavailable(app: FastifyInstance, error: Error): UnavailableError | undefined {
  if (error instanceof FfleetError) return undefined;
  const message = error.message ?? '';
  if (!CONNECTION_FAILURES.some((m) => message.includes(m))) return undefined;
  // A cluster keeps its nodes' options (the timeout among them) apart from its own.
  const options = app.redis?.options as
    | { commandTimeout?: number; redisOptions?: { commandTimeout?: number } }
    | undefined;
  const timeoutMs = options?.commandTimeout ?? options?.redisOptions?.commandTimeout ?? 2000;
  return new UnavailableError(`redis is unavailable: ${message}`, Math.max(1, Math.ceil(timeoutMs / 1000)));
}

/** Routes that read or write Redis: jobs, pools and the batch route; presigning needs only S3. */
export function needsRedis(url: string): boolean {
  return (url.startsWith('/v1/') && !url.startsWith('/v1/uploads')) || url.startsWith('/batch/');
}

/** How long Redis has to answer a PING once a route reached its bound. */
const PING_MS = 500;

/** Whether Redis answers a PING within `ms`. */
async function redisAnswers(app: FastifyInstance, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const silence = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      app.redis.ping().then(
        () => true,
        () => false,
      ),
      silence,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Bounded answers when Redis is away: a route that needs Redis answers within `timeoutMs`
 * (and a PING) with 503 `unavailable` and `Retry-After` when Redis is down, paused or
 * unreachable, at once when the connection is known to be down. Each Redis command is bounded too (the
 * connection's `commandTimeout`), so nothing waits on a Redis that does not answer.
 */
export const redisAvailabilityPlugin = fp(
  async (app: FastifyInstance, { timeoutMs }: RedisAvailabilityOptions) => {
    const retryAfterSeconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    const unavailable = (why: string) =>
      new UnavailableError(`redis is unavailable: ${why}`, retryAfterSeconds);

    app.addHook('onRoute', (route) => {
      if (!needsRedis(route.url)) return;
      const handler = route.handler as RouteHandlerMethod;
      route.handler = async function boundedHandler(request, reply) {
        if (app.redis.status !== 'ready') throw unavailable(`connection is ${app.redis.status}`);
        let timer: NodeJS.Timeout | undefined;
        // At the bound, Redis is asked whether it is there: a route that is only slow (a large
        // batch on a busy gateway) goes on to its answer, never a 503 with its work still going
        // on behind it; one waiting on a Redis that does not answer gets its 503.
        const deadline = new Promise<never>((_resolve, reject) => {
          timer = setTimeout(() => {
            redisAnswers(app, Math.min(PING_MS, timeoutMs)).then((answers) => {
              if (!answers) reject(unavailable(`no answer within ${timeoutMs} ms`));
            });
          }, timeoutMs);
        });
        try {
          return await Promise.race([handler.call(this, request, reply), deadline]);
        } catch (error) {
          // A stream already handed to the client (Server-Sent Events) cannot become a 503.
          if (reply.sent) return reply;
          if (error instanceof FfleetError) throw error;
          const message = (error as Error).message ?? '';
          if (app.redis.status !== 'ready' || CONNECTION_FAILURES.some((m) => message.includes(m))) {
            throw unavailable(message || `connection is ${app.redis.status}`);
          }
          throw error;
        } finally {
          clearTimeout(timer);
        }
      };
    });
  },
  { name: 'ffleet-redis-availability', fastify: '5.x', dependencies: [INFRASTRUCTURE] },
);
