import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FleetConfig, intFromEnv, loadFleetConfig, type Pool } from '@ffleet/core';
import { DEFAULT_QUALITY_SUBSAMPLE, type QualityMode } from './quality/measure.ts';

/** A worker's settings, from the environment (documented in README, "Configuration"). */
export interface WorkerConfig {
  fleet: FleetConfig;
  pool: Pool;
  concurrency: number;
  workRoot: string;
  shutdownGraceMs: number;
  lockDurationMs: number;
  maxOutputBytes: number;
  ffmpegPath: string;
  ffprobePath: string;
  /** Port of /healthz and /metrics; 0 disables the server. */
  httpPort: number;
  /** Measure quality for jobs that do not say (a job's `quality` overrides it). */
  qualityDefault: boolean;
  /** How quality is measured for jobs that do not ask for a mode. */
  qualityMode: QualityMode;
  /** In sampled mode, compare every n-th frame of the output. */
  qualitySubsample: number;
  /** Bucket for quality and timing records; unset: the bucket of the job's first output. */
  metricsBucket?: string;
}

export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const fleet = loadFleetConfig(env);
  const poolName = env.POOL;
  if (!poolName)
    throw new Error(`POOL is required: one of ${fleet.pools.pools.map((p) => p.name).join(', ')}`);
  const pool = fleet.pools.get(poolName);
  if (!pool)
    throw new Error(
      `POOL "${poolName}" is not in the pool registry: ${fleet.pools.pools.map((p) => p.name).join(', ')}`,
    );
  return {
    fleet,
    pool,
    concurrency: intFromEnv(env.FFLEET_CONCURRENCY, pool.concurrency) || pool.concurrency,
    workRoot: env.FFLEET_WORK_DIR || join(tmpdir(), 'ffleet-work'),
    shutdownGraceMs: intFromEnv(env.FFLEET_SHUTDOWN_GRACE_SECONDS, 120) * 1000,
    lockDurationMs: intFromEnv(env.FFLEET_LOCK_DURATION_MS, 30_000),
    maxOutputBytes: intFromEnv(env.FFLEET_MAX_OUTPUT_MB, 50 * 1024) * 1024 * 1024,
    ffmpegPath: env.FFMPEG_PATH || 'ffmpeg',
    ffprobePath: env.FFPROBE_PATH || 'ffprobe',
    httpPort: intFromEnv(env.FFLEET_WORKER_PORT, 9090),
    qualityDefault: booleanFromEnv(env.FFLEET_QUALITY_DEFAULT, true, 'FFLEET_QUALITY_DEFAULT'),
    qualityMode: qualityModeFromEnv(env.FFLEET_QUALITY_MODE),
    qualitySubsample: subsampleFromEnv(env.FFLEET_QUALITY_SUBSAMPLE),
    metricsBucket: env.FFLEET_METRICS_BUCKET || undefined,
  };
}

function booleanFromEnv(value: string | undefined, fallback: boolean, name: string): boolean {
  if (value === undefined || value === '') return fallback;
  const lower = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(lower)) return true;
  if (['false', '0', 'no', 'off'].includes(lower)) return false;
  throw new Error(`${name} must be true or false, got "${value}"`);
}

function qualityModeFromEnv(value: string | undefined): QualityMode {
  if (value === undefined || value === '') return 'sampled';
  const mode = value.trim().toLowerCase();
  if (mode === 'sampled' || mode === 'full') return mode;
  throw new Error(`FFLEET_QUALITY_MODE must be sampled or full, got "${value}"`);
}

function subsampleFromEnv(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_QUALITY_SUBSAMPLE;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 2 || n > 1000)
    throw new Error(`FFLEET_QUALITY_SUBSAMPLE must be a whole number from 2 to 1000, got "${value}"`);
  return n;
}
