import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FleetConfig, intFromEnv, loadFleetConfig, type Pool } from '@ffleet/core';

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
  };
}
