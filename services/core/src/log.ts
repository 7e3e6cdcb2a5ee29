import { type Logger, pino } from 'pino';

/** One JSON logger shape for every ffleet process. LOG_LEVEL picks the level. */
export function createLogger(name: string, extra: Record<string, unknown> = {}): Logger {
  return pino({ name, level: process.env.LOG_LEVEL ?? 'info', base: { service: name, ...extra } });
}

export type { Logger };
