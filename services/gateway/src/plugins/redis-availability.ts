import { FfleetError, UnavailableError } from '@ffleet/core';
import type { FastifyError, FastifyInstance } from 'fastify';

/** What ioredis says when a command could not be sent or got no answer in time. */
const CONNECTION_FAILURES = [
  'Command timed out',
  "Stream isn't writeable",
  'Connection is closed',
  'Reached the max retries per request limit',
];

/**
 * The `503 unavailable` an error stands for when it is Redis failing, else undefined.
 *
 * Every Redis command the gateway sends is bounded: it fails at once while the connection is
 * down (no offline queue) and after the connection's `commandTimeout` (`FFLEET_REDIS_TIMEOUT_MS`)
 * when Redis does not answer (paused, unreachable). So a route that needs Redis fails within that
 * bound when Redis is away, and the error handler turns the failure into this 503 with
 * `Retry-After`. A route that is only slow (a large batch on a busy gateway) is never cut: each
 * of its commands answers in time.
 */
export function redisUnavailable(app: FastifyInstance, error: Error): UnavailableError | undefined {
  // The job's own errors and the request's (a 4xx from Fastify) are answered as they are.
  if (error instanceof FfleetError || ((error as FastifyError).statusCode ?? 500) < 500) return undefined;
  const message = error.message ?? '';
  const status = app.redis?.status ?? 'ready';
  if (status === 'ready' && !CONNECTION_FAILURES.some((m) => message.includes(m))) return undefined;
  // A cluster keeps its nodes' options (the timeout among them) apart from its own.
  const options = app.redis?.options as
    | { commandTimeout?: number; redisOptions?: { commandTimeout?: number } }
    | undefined;
  const timeoutMs = options?.commandTimeout ?? options?.redisOptions?.commandTimeout ?? 2000;
  return new UnavailableError(
    `redis is unavailable: ${message || `connection is ${status}`}`,
    Math.max(1, Math.ceil(timeoutMs / 1000)),
  );
}
