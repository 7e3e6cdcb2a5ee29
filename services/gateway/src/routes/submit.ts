import { FfleetError, type JobAccepted, SPAN, traceIdOf, traceparentOf, validateJob } from '@ffleet/core';
import { context, trace } from '@opentelemetry/api';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ownerOf, urlPolicyOf } from '../caller.ts';

/**
 * Validates a job fully (schema, pool, command model) and queues it on its pool, with the
 * trace context of this request's span, so the worker continues the same trace. `202` for a
 * new job, `200` with the existing job when its idempotency key was seen: the status is set on
 * `reply`, the answer returned.
 * Shared by `POST /v1/jobs` and the AWS-sample compatibility route.
 */
export async function submitJob(
  body: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<JobAccepted> {
  const { fleetConfig: config, queues } = request.server;
  const traceContext = request.traceContext ?? context.active();
  return context.with(traceContext, async () => {
    const { spec, pool } = validateJob(body, config.pools, urlPolicyOf(request));
    if (spec.targetQuality?.metric === 'vmaf') {
      const refusal = await queues.vmafRefusal(pool);
      if (refusal) throw new FfleetError('vmaf_unavailable', refusal, 400, { pool: pool.name });
    }
    const traceparent = traceparentOf(traceContext);
    const { id, created } = await queues.enqueue(spec, pool, { traceparent, owner: ownerOf(request) });
    trace.getSpan(traceContext)?.setAttributes({
      [SPAN.jobId]: id,
      [SPAN.jobName]: spec.name,
      [SPAN.pool]: pool.name,
    });
    if (!created) {
      const existing = await queues.view(id);
      if (existing) {
        const { state, pool: existingPool, links, traceId } = existing;
        reply.status(200);
        return { id, state, pool: existingPool, links, ...(traceId ? { traceId } : {}) };
      }
    }
    request.server.gatewayMetrics?.jobsSubmitted.inc({ pool: pool.name });
    const traceId = traceIdOf(traceparent);
    reply.status(202).header('location', `/v1/jobs/${id}`);
    const accepted: JobAccepted = { id, state: 'queued', pool: pool.name, links: queues.links(id, traceId) };
    if (traceId) accepted.traceId = traceId;
    return accepted;
  });
}
