import { type Logger, pino } from 'pino';
import { traceLogMixin } from './telemetry/log-context.ts';

/**
 * One JSON logger shape for every ffleet process, at the level the process's settings give. Lines written
 * inside a span carry its trace_id and span_id.
 */
export function createLogger(name: string, level: string, extra: Record<string, unknown> = {}): Logger {
  return pino({
    name,
    level,
    base: { service: name, ...extra },
    mixin: traceLogMixin,
  });
}

export type { Logger };
