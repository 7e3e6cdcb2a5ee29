import { checkJsonLimits } from '@ffleet/core';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { submissionLimits } from './job-submissions.ts';

/**
 * Bounds on the shape of a submitted job or batch (depth, number of values and keys), checked after
 * parsing and before schema validation, so a deep or huge body is refused cheaply with a 400.
 */
export const jsonLimitsPlugin = fp(async (app: FastifyInstance) => {
  app.addHook('preValidation', (request, _reply, done) => {
    const limits = submissionLimits(request);
    if (!limits) return done();
    try {
      checkJsonLimits(request.body, limits);
      done();
    } catch (error) {
      done(error as Error);
    }
  });
});
