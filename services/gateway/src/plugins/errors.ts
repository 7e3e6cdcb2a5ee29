import { FfleetError, RetryLaterError } from '@ffleet/core';
import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { isJobSubmission } from './job-submissions.ts';
import { redisUnavailable } from './redis-availability.ts';

/**
 * Every error leaves the gateway as `{error, message, details}` with the right status:
 * schema failures and unsafe jobs are 400s that name the problem, unknown routes 404.
 */
export const errorsPlugin = fp(async (app: FastifyInstance) => {
  app.setErrorHandler((raw: FastifyError | FfleetError | Error, request, reply) => {
    // Redis away, in a route or under a hook (the rate limit's count): 503 with Retry-After.
    const error = redisUnavailable(app, raw) ?? raw;
    if (error instanceof FfleetError) {
      // 503 unavailable, 429 queue_full and rate_limited say when to come back.
      if (error instanceof RetryLaterError) reply.header('retry-after', String(error.retryAfterSeconds));
      return reply
        .status(error.status)
        .send({ error: error.code, message: error.message, details: error.details ?? null });
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
      return reply.status(400).send({
        error: isJob ? 'invalid_job' : 'invalid_request',
        message: isJob
          ? `job spec is invalid: ${what}`
          : `${fastifyError.validationContext ?? 'request'}: ${what}`,
        details,
      });
    }
    const status = fastifyError.statusCode ?? 500;
    if (fastifyError.code?.startsWith('FST_ERR_CTP_') && status === 400) {
      return reply
        .status(400)
        .send({ error: 'invalid_request', message: `body: ${error.message}`, details: null });
    }
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    return reply.status(status).send({
      error:
        status === 413
          ? 'payload_too_large'
          : status >= 500
            ? 'internal'
            : (fastifyError.code?.toLowerCase() ?? 'bad_request'),
      message: status >= 500 ? 'internal error' : error.message,
      details: null,
    });
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send({ error: 'not_found', message: `no route ${request.method} ${request.url}`, details: null }),
  );
});
