import { isSpanContextValid, trace } from '@opentelemetry/api';

/**
 * A pino `mixin`: every log line written inside a span carries its trace_id and span_id, so
 * logs and traces can be joined. Outside a span (or with tracing off) it adds nothing.
 */
export function traceLogMixin(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const ctx = span.spanContext();
  if (!isSpanContextValid(ctx)) return {};
  return { trace_id: ctx.traceId, span_id: ctx.spanId };
}
