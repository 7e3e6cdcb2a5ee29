import { FfleetError, type JobAccepted, SPAN, traceIdOf, traceparentOf, validateJob } from '@ffleet/core';
import { type Context, context, trace } from '@opentelemetry/api';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ownerOf, urlPolicyOf } from '../caller.ts';
import { traceContextOf } from '../plugins/tracing.ts';

/**
 * Validates a job fully (schema, pool, command model) and queues it on its pool, with the
 * trace context of this request's span, so the worker continues the same trace. `202` for a
 * new job, `200` with the existing job when its idempotency key was seen: the status is set on
 * `reply`, the answer returned.
 * Shared by `POST /v1/jobs` and the AWS-sample compatibility route.
 */
export function submitJob(body: unknown, request: FastifyRequest, reply: FastifyReply): Promise<JobAccepted> {
  const traceContext = traceContextOf(request, reply);
  // Untraced (tracing off, no incoming traceparent): no context to run in.
  if (!traceContext) return accept(body, request, reply, undefined);
  return context.with(traceContext, () => accept(body, request, reply, traceContext));
}

async function accept(
  body: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  traceContext: Context | undefined,
): Promise<JobAccepted> {
  const { fleetConfig: config, queues } = request.server;
  const { spec, pool } = validateJob(body, config.pools, urlPolicyOf(request));
  if (spec.targetQuality?.metric === 'vmaf') {
    const refusal = await queues.vmafRefusal(pool);
    if (refusal) throw new FfleetError('vmaf_unavailable', refusal, 400, { pool: pool.name });
  }
  const traceparent = traceContext && traceparentOf(traceContext);
  const { id, created } = await queues.enqueue(spec, pool, { traceparent, owner: ownerOf(request) });
  if (traceContext)
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
}
