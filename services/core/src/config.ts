import { PoolRegistry } from './pools/registry.ts';
import { type S3Settings, s3SettingsFromEnv } from './storage/s3.ts';
import type { UrlPolicy } from './storage/url.ts';

/** Settings shared by the gateway and workers, read from the environment (see README). */
export interface FleetConfig {
  redisUrl: string;
  /** BullMQ key prefix, so several fleets can share one Redis. */
  queuePrefix: string;
  pools: PoolRegistry;
  urlPolicy: UrlPolicy;
  /** Root directory for file:// URLs; unset disables them. */
  fileRoot?: string;
  s3: S3Settings;
}

export function loadFleetConfig(env: NodeJS.ProcessEnv = process.env): FleetConfig {
  const fileRoot = env.FFLEET_FILE_ROOT || undefined;
  return {
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    queuePrefix: env.FFLEET_QUEUE_PREFIX || 'ffleet',
    pools: PoolRegistry.load(env.FFLEET_POOLS_FILE || undefined),
    urlPolicy: {
      allowedBuckets: list(env.FFLEET_ALLOWED_BUCKETS),
      allowFile: Boolean(fileRoot),
      webhooks: {
        allowHttp: env.FFLEET_WEBHOOK_ALLOW_HTTP === 'true',
        allowPrivate: env.FFLEET_WEBHOOK_ALLOW_PRIVATE === 'true',
      },
    },
    fileRoot,
    s3: s3SettingsFromEnv(env),
  };
}

export function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export function intFromEnv(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a non-negative integer, got "${value}"`);
  return n;
}
