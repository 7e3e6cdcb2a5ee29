import { BATCH_JSON_LIMITS, JSON_LIMITS, type JsonLimits } from '@ffleet/core';
import type { FastifyRequest } from 'fastify';

/** The routes that submit jobs, with the bounds of their bodies: each starts a trace and gets the body checks. */
const SUBMISSION_ROUTES: ReadonlyMap<string, JsonLimits> = new Map([
  ['/v1/jobs', JSON_LIMITS],
  ['/batch/execute/:compute', JSON_LIMITS],
  ['/v1/batches', BATCH_JSON_LIMITS],
]);

/** The body bounds of a submission, or undefined for any other request. */
export function submissionLimits(request: FastifyRequest): JsonLimits | undefined {
  return request.method === 'POST' ? SUBMISSION_ROUTES.get(request.routeOptions.url ?? '') : undefined;
}

export function isJobSubmission(request: FastifyRequest): boolean {
  return submissionLimits(request) !== undefined;
}
