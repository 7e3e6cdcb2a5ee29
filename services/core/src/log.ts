import { type Logger, pino } from 'pino';
import { traceLogMixin } from './telemetry/log-context.ts';

/**
 * One JSON logger shape for every ffleet process. LOG_LEVEL picks the level. Lines written
 * inside a span carry its trace_id and span_id.
 */
export function createLogger(name: string, extra: Record<string, unknown> = {}): Logger {
  return pino({
    name,
    level: process.env.LOG_LEVEL ?? 'info',
    base: { service: name, ...extra },
    mixin: traceLogMixin,
  });
}

export type { Logger };
