import { type Context, context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

// A propagator of our own, not the global one: job data must carry W3C context even when
// another propagator is configured for HTTP.
const w3c = new W3CTraceContextPropagator();

const setter = {
  set(carrier: Record<string, string>, key: string, value: string) {
    carrier[key] = value;
  },
};
const getter = {
  get: (carrier: Record<string, string>, key: string) => carrier[key],
  keys: (carrier: Record<string, string>) => Object.keys(carrier),
};

/** The W3C `traceparent` of a context's span (the active one by default), to store in job data. */
export function traceparentOf(ctx: Context = context.active()): string | undefined {
  const carrier: Record<string, string> = {};
  w3c.inject(ctx, carrier, setter);
  return carrier.traceparent;
}

/** A context whose parent is the span a `traceparent` names; the root context when it is absent or invalid. */
export function contextFromTraceparent(
  traceparent: string | undefined,
  base: Context = ROOT_CONTEXT,
): Context {
  if (!traceparent) return base;
  return w3c.extract(base, { traceparent }, getter);
}

/** The trace id a `traceparent` carries, e.g. to print a Jaeger link. */
export function traceIdOf(traceparent: string | undefined): string | undefined {
  const ctx = contextFromTraceparent(traceparent);
  return trace.getSpanContext(ctx)?.traceId;
}
