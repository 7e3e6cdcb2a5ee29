/**
 * `submit_vs_bare_route_ratio`: the gateway's `POST /v1/jobs` rate divided by the rate of a bare
 * Fastify route doing the same `Queue.add` (bench/bare-submit-route.ts) with no validation,
 * idempotency, tracing, metrics or logs. Both are separate Node processes on the same Redis,
 * driven by the same wrk load in back-to-back pairs of runs (alternating which goes first);
 * the ratio is the median over pairs of each pair's ratio, so a burst of load from elsewhere
 * spoils one pair, not the result. HTTP itself costs both sides alike, so what the ratio
 * leaves is ffleet's own cost per submission. Beside it, the CPU time each process spends per
 * submission (Linux /proc), a second view when the machine is busy with other work.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PoolRegistry } from '@ffleet/core';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { startLocalFleet } from '../scripts/lib/local-fleet.ts';
import { withServiceRuntime } from '../scripts/lib/service-env.ts';
import { freePort, stopChild } from '../scripts/lib/stack.ts';
import { cpuMs } from './process-cpu.ts';
import { wrkPostRate } from './wrk.ts';

const BARE_ROUTE = new URL('./bare-submit-route.ts', import.meta.url).pathname;
const BARE_QUEUE = 'bench-bare-route';
const BARE_PREFIX = 'bench';
const WARM_UP_SECONDS = 3;

/** The job both submit benchmarks send: valid, with options to tokenize and check, for `pool`. */
export function submitBenchJob(bucket: string, pool: string) {
  return {
    name: 'bench-submit',
    compute: pool,
    inputs: [{ url: `s3://${bucket}/bench/input.mp4`, options: '-ss 5' }],
    outputs: [
      {
        url: `s3://${bucket}/bench/submit.mp4`,
        options: '-t 10 -c:v h264_nvenc -preset p4 -b:v 4M -c:a aac',
      },
    ],
  };
}

const round = (n: number) => Number(n.toFixed(3));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function measureSubmitVsBareRoute(options: {
  quick: boolean;
  work: string;
  print: (name: string, value: string | number) => void;
  gatewayUrl: string;
  /** The gateway's process, for its CPU time. */
  gatewayPid: number;
  redisUrl: string;
  /** The gateway's queue prefix (`FFLEET_QUEUE_PREFIX`). */
  queuePrefix?: string;
  /** A valid job for a pool no worker serves, so nothing but the submissions runs. */
  body: { compute: string };
  inFlight: number;
}): Promise<void> {
  const { quick, work, print, inFlight } = options;
  const pairs = quick ? 2 : 8;
  const seconds = quick ? 2 : 3;
  const body = JSON.stringify(options.body);

  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const port = await freePort();
  // With the gateway's runtime settings, so the ratio leaves only ffleet's own work.
  const bare = spawn(process.execPath, [BARE_ROUTE], {
    env: withServiceRuntime({
      ...process.env,
      PORT: String(port),
      REDIS_URL: options.redisUrl,
      QUEUE: BARE_QUEUE,
      PREFIX: BARE_PREFIX,
    }),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const [ready] = (await Promise.race([once(bare.stdout!, 'data'), once(bare, 'exit')])) as [unknown];
    if (bare.exitCode !== null || !String(ready).includes('listening'))
      throw new Error('the bare submit route did not start');
    const routes = {
      gateway: `${options.gatewayUrl}/v1/jobs`,
      bare: `http://127.0.0.1:${port}/v1/jobs`,
    };
    // Each run starts on empty queues: neither side meets the pool's `maxQueued` nor a Redis
    // grown by the runs before it.
    const pool = PoolRegistry.load().get(options.body.compute)!;
    const queues = [
      new Queue(pool.queue, { connection: redis, prefix: options.queuePrefix ?? 'ffleet' }),
      new Queue(BARE_QUEUE, { connection: redis, prefix: BARE_PREFIX }),
    ];
    const postRate = async (url: string, seconds: number) => {
      for (const queue of queues) await queue.drain(true);
      return wrkPostRate(url, body, inFlight, seconds, work);
    };
    // A first run warms each side's JIT and connections. It takes seconds, not one: the gateway
    // has more code to optimise, and with a shorter warm-up its first pair ran well below the rest.
    for (const url of Object.values(routes)) await postRate(url, WARM_UP_SECONDS);
    const pids = { gateway: options.gatewayPid, bare: bare.pid! };
    const rates = { gateway: [] as number[], bare: [] as number[] };
    const cpuPerSubmit = { gateway: [] as number[], bare: [] as number[] };
    const ratios: number[] = [];
    for (let pair = 0; pair < pairs; pair++) {
      const order = pair % 2 === 0 ? (['gateway', 'bare'] as const) : (['bare', 'gateway'] as const);
      const rate = { gateway: 0, bare: 0 };
      for (const side of order) {
        const cpuBefore = await cpuMs(pids[side]);
        rate[side] = await postRate(routes[side], seconds);
        cpuPerSubmit[side].push(((await cpuMs(pids[side])) - cpuBefore) / (rate[side] * seconds));
      }
      rates.gateway.push(rate.gateway);
      rates.bare.push(rate.bare);
      ratios.push(rate.gateway / rate.bare);
    }
    const cpu = { gateway: median(cpuPerSubmit.gateway), bare: median(cpuPerSubmit.bare) };
    print('submit_route_pairs', `${pairs} x ${seconds}s each side, ${inFlight} in flight`);
    print('submit_gateway_route_per_s', Math.round(median(rates.gateway)));
    print('submit_bare_route_per_s', Math.round(median(rates.bare)));
    print('submit_route_best_ratio', round(Math.max(...rates.gateway) / Math.max(...rates.bare)));
    print('submit_gateway_route_cpu_us', Math.round(cpu.gateway * 1000));
    print('submit_bare_route_cpu_us', Math.round(cpu.bare * 1000));
    print('submit_route_cpu_ratio', round(cpu.bare / cpu.gateway));
    print('submit_route_pair_ratios', ratios.map((r) => r.toFixed(2)).join(' '));
    print('submit_vs_bare_route_ratio', round(median(ratios)));
  } finally {
    await stopChild(bare);
    redis.disconnect();
  }
}

// `node bench/submit-route.ts` (BENCH_QUICK=1 for a short run): this part alone, on a fleet of its own.
if (import.meta.main) {
  const work = await mkdtemp(join(tmpdir(), 'ffleet-bench-'));
  const fleet = await startLocalFleet({ quiet: true });
  const idlePool = fleet.pools[0] === 'xilinx' ? 'nvidia' : 'xilinx';
  try {
    await measureSubmitVsBareRoute({
      quick: process.env.BENCH_QUICK === '1',
      work,
      print: (name, value) => process.stdout.write(`${name}: ${value}\n`),
      gatewayUrl: fleet.gatewayUrl,
      gatewayPid: fleet.gatewayPid,
      redisUrl: fleet.stack.redisUrl,
      body: submitBenchJob(fleet.stack.bucket, idlePool),
      inFlight: 32,
    });
  } finally {
    await fleet.stop();
    await rm(work, { recursive: true, force: true });
  }
}
