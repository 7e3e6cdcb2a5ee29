import { contextFromTraceparent } from '@ffleet/core';
import {
  type Context,
  isSpanContextValid,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { isJobSubmission } from './job-submissions.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The context of this request's span, on routes that start a job's trace. */
    traceContext?: Context;
  }
}

/** The request's log lines from here on (Fastify's "request completed" among them) carry the trace's ids too. */
function logWithIds(request: FastifyRequest, reply: FastifyReply, ids: SpanContext): void {
  request.log = request.log.child({ trace_id: ids.traceId, span_id: ids.spanId });
  reply.log = request.log;
}

/**
 * The trace context a submission runs in: its span's when the gateway traces, else the caller's
 * `traceparent` (so the worker continues the caller's trace), else undefined.
 */
export function traceContextOf(request: FastifyRequest, reply: FastifyReply): Context | undefined {
  if (request.traceContext) return request.traceContext;
  const header = request.headers.traceparent;
  if (typeof header !== 'string') return undefined;
  const parent = contextFromTraceparent(header);
  const ids = trace.getSpanContext(parent);
  if (!ids || !isSpanContextValid(ids)) return undefined;
  logWithIds(request, reply, ids);
  request.traceContext = parent;
  return parent;
}

/**
 * A server span for each job submission: the first span of the job's trace, which the worker
 * continues from the traceparent stored in the job. Other routes (polling, SSE, health) are
 * not traced, so a job's trace holds what happened to the job. Without a tracer (tracing off)
 * the plugin adds no hooks: an incoming traceparent is read by `traceContextOf`.
 */
export const tracingPlugin = fp(async (app: FastifyInstance, opts: { tracer?: Tracer }) => {
  app.decorateRequest('traceContext', undefined);
  const { tracer } = opts;
  if (!tracer) return;

  const startSpan = (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.traceparent;
    const parent = contextFromTraceparent(typeof header === 'string' ? header : undefined);
    const route = request.routeOptions.url!;
    const span = tracer.startSpan(
      `POST ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': 'POST',
          'http.route': route,
          'url.path': request.url.split('?')[0]!,
        },
      },
      parent,
    );
    const ids = span.spanContext();
    // A no-op span with no incoming trace has nothing to pass on.
    if (!span.isRecording() && !isSpanContextValid(ids)) return;
    request.traceContext = trace.setSpan(parent, span);
    if (isSpanContextValid(ids)) logWithIds(request, reply, ids);
  };

  // Hooks take a callback rather than return a promise: they run on every request.
  app.addHook('onRequest', (request, reply, done) => {
    if (isJobSubmission(request)) startSpan(request, reply);
    done();
  });

  const end = (request: FastifyRequest, status?: number) => {
    const span = request.traceContext && trace.getSpan(request.traceContext);
    if (!span) return;
    if (status !== undefined) span.setAttribute('http.response.status_code', status);
    if (status === undefined || status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  };
  app.addHook('onResponse', (request, reply, done) => {
    end(request, reply.statusCode);
    done();
  });
  app.addHook('onRequestAbort', (request, done) => {
    end(request);
    done();
  });
});
