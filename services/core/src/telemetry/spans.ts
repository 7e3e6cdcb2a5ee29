import {
  type Attributes,
  type Context,
  context,
  type Span,
  SpanStatusCode,
  type Tracer,
} from '@opentelemetry/api';

/**
 * Runs `fn` inside a new active span: the span ends when `fn` settles, and a thrown error is
 * recorded on it and marks it failed before being rethrown.
 */
export async function inSpan<T>(
  tracer: Tracer,
  name: string,
  options: { attributes?: Attributes; parent?: Context },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  return tracer.startActiveSpan(name, { attributes: options.attributes }, parent, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      span.recordException(e);
      span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
      throw error;
    } finally {
      span.end();
    }
  });
}
