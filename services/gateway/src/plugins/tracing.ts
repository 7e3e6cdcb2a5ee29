import { contextFromTraceparent, TRACER_NAME } from '@ffleet/core';
import {
  type Context,
  isSpanContextValid,
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

/**
 * A server span for each job submission: the first span of the job's trace, which the worker
 * continues from the traceparent stored in the job. Other routes (polling, SSE, health) are
 * not traced, so a job's trace holds what happened to the job. With tracing off the span is
 * a no-op, but an incoming traceparent is still passed on to the job.
 */
export const tracingPlugin = fp(async (app: FastifyInstance, opts: { tracer?: Tracer }) => {
  const tracer = opts.tracer ?? trace.getTracer(TRACER_NAME);
  app.decorateRequest('traceContext', undefined);

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
    // Tracing off and no incoming trace: the span is a no-op with nothing to pass on.
    if (!span.isRecording() && !isSpanContextValid(ids)) return;
    request.traceContext = trace.setSpan(parent, span);
    if (isSpanContextValid(ids)) {
      // Fastify's own request lines ("incoming request", "request completed") carry the ids too.
      request.log = request.log.child({ trace_id: ids.traceId, span_id: ids.spanId });
      reply.log = request.log;
    }
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
