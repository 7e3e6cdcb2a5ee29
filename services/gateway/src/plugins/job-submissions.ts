import type { FastifyRequest } from 'fastify';

/** The routes that submit a job: each starts a job's trace and gets the job body's checks. */
const SUBMISSION_ROUTES: ReadonlySet<string> = new Set(['/v1/jobs', '/batch/execute/:compute']);

export function isJobSubmission(request: FastifyRequest): boolean {
  return request.method === 'POST' && SUBMISSION_ROUTES.has(request.routeOptions.url ?? '');
}
