import { FfleetError, RetryLaterError } from '@ffleet/core';
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { isJobSubmission } from './job-submissions.ts';
import { countRefusal } from './metrics.ts';
import { redisUnavailable } from './redis-availability.ts';

interface ErrorAnswer {
  status: number;
  body: { error: string; message: string; details: unknown };
  retryAfterSeconds?: number;
}

/** The answer an error gets: its status, `{error, message, details}`, and when to come back. */
function answerTo(
  app: FastifyInstance,
  raw: FastifyError | FfleetError | Error,
  request: FastifyRequest,
): ErrorAnswer {
  // Redis away, in a route or under a hook (the rate limit's count): 503 with Retry-After.
  const error = redisUnavailable(app, raw) ?? raw;
  if (error instanceof FfleetError) {
    const body = { error: error.code, message: error.message, details: error.details ?? null };
    // 503 unavailable, 429 queue_full and rate_limited say when to come back.
    return error instanceof RetryLaterError
      ? { status: error.status, body, retryAfterSeconds: error.retryAfterSeconds }
      : { status: error.status, body };
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    const details = fastifyError.validation.map((v) => ({
      path: v.instancePath || '/',
      message: v.message,
      ...(v.params && 'additionalProperty' in v.params ? { property: v.params.additionalProperty } : {}),
    }));
    const first = details[0];
    const what = first?.property
      ? `unknown property "${first.property}"`
      : `${first?.path} ${first?.message}`;
    // A job body that breaks the schema is an invalid job, the same answer a worker gives.
    const isJob = fastifyError.validationContext === 'body' && isJobSubmission(request);
    const message = isJob
      ? `job spec is invalid: ${what}`
      : `${fastifyError.validationContext ?? 'request'}: ${what}`;
    return { status: 400, body: { error: isJob ? 'invalid_job' : 'invalid_request', message, details } };
  }
  const status = fastifyError.statusCode ?? 500;
  if (fastifyError.code?.startsWith('FST_ERR_CTP_') && status === 400) {
    return { status, body: { error: 'invalid_request', message: `body: ${error.message}`, details: null } };
  }
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  const code =
    status === 413
      ? 'payload_too_large'
      : status >= 500
        ? 'internal'
        : (fastifyError.code?.toLowerCase() ?? 'bad_request');
  return {
    status,
    body: { error: code, message: status >= 500 ? 'internal error' : error.message, details: null },
  };
}

/**
 * Every error leaves the gateway as `{error, message, details}` with the right status:
 * schema failures and unsafe jobs are 400s that name the problem, unknown routes 404.
 * A refused submission is counted here by its code.
 */
export const errorsPlugin = fp(async (app: FastifyInstance) => {
  app.setErrorHandler((raw: FastifyError | FfleetError | Error, request, reply) => {
    const { status, body, retryAfterSeconds } = answerTo(app, raw, request);
    if (retryAfterSeconds !== undefined) reply.header('retry-after', String(retryAfterSeconds));
    countRefusal(request, status, body.error);
    return reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send({ error: 'not_found', message: `no route ${request.method} ${request.url}`, details: null }),
  );
});
