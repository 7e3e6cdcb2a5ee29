import { hostname } from 'node:os';
import { keys, type RedisClient, TONE_MAP_FILTERS } from '@ffleet/core';
import type { Capabilities } from '../ffmpeg/probe.ts';

const INTERVAL_MS = 10_000;
const TTL_SECONDS = 30;

/**
 * Announces this worker to the gateway (GET /v1/pools): who it is, how busy, and what its
 * ffmpeg can do. Entries expire on their own if the worker dies.
 */
export class Heartbeat {
  readonly #redis: RedisClient;
  readonly #prefix: string;
  readonly #pool: string;
  readonly #info: Record<string, unknown>;
  readonly #busy: () => number;
  #timer?: NodeJS.Timeout;

  constructor(opts: {
    redis: RedisClient;
    prefix: string;
    pool: string;
    workerId: string;
    concurrency: number;
    capabilities: Capabilities;
    busy: () => number;
  }) {
    this.#redis = opts.redis;
    this.#prefix = opts.prefix;
    this.#pool = opts.pool;
    this.#busy = opts.busy;
    this.#info = {
      id: opts.workerId,
      host: hostname(),
      pool: opts.pool,
      concurrency: opts.concurrency,
      arch: process.arch === 'x64' ? 'amd64' : process.arch,
      ffmpegVersion: opts.capabilities.ffmpegVersion,
      encoders: opts.capabilities.encoders,
      hwaccels: opts.capabilities.hwaccels,
      builtInHwaccels: opts.capabilities.builtInHwaccels,
      unusable: opts.capabilities.unusable,
      // What a quality target may ask for on this pool (the gateway refuses VMAF where it is missing).
      qualityMetrics: ['psnr', 'ssim', 'vmaf'].filter((m) =>
        opts.capabilities.filters.includes(m === 'vmaf' ? 'libvmaf' : m),
      ),
      // Whether its ladders and previews can take an HDR source (they refuse it otherwise).
      toneMapping: TONE_MAP_FILTERS.every((f) => opts.capabilities.filters.includes(f)),
      startedAt: new Date().toISOString(),
    };
  }

  async start(): Promise<void> {
    await this.beat();
    this.#timer = setInterval(() => void this.beat().catch(() => {}), INTERVAL_MS);
    this.#timer.unref();
  }

  async beat(): Promise<void> {
    const id = this.#info.id as string;
    const now = Date.now();
    await this.#redis
      .multi()
      .set(
        keys.worker(this.#prefix, id),
        JSON.stringify({ ...this.#info, busy: this.#busy(), seenAt: new Date(now).toISOString() }),
        'EX',
        TTL_SECONDS,
      )
      .zadd(keys.workers(this.#prefix, this.#pool), now, id)
      .zremrangebyscore(keys.workers(this.#prefix, this.#pool), '-inf', now - TTL_SECONDS * 1000)
      .exec();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    const id = this.#info.id as string;
    await this.#redis
      .multi()
      .del(keys.worker(this.#prefix, id))
      .zrem(keys.workers(this.#prefix, this.#pool), id)
      .exec();
  }
}
