/**
 * `make bench`: ffleet against baselines measured in the same run, on this machine.
 *   e2e_overhead_ratio       a job through gateway → queue → S3 → worker ÷ bare ffmpeg, same command
 *   pickup_ms_p50/p95        enqueue → worker job start, warm idle worker (ffleet vs bare BullMQ)
 *   gateway/worker_idle_rss_mb  resident memory at rest after serving jobs, beside Node itself
 *                            running an empty TypeScript file (bench/idle-memory.ts)
 *   submit_rate_ratio        gateway HTTP submits/s ÷ bare Queue.add/s, same number in flight
 *   submit_vs_bare_route_ratio  gateway POST /v1/jobs/s ÷ a bare Fastify route doing the same Queue.add
 *   tracing_overhead_ratio   the same job with tracing to Jaeger and metrics scraped ÷ with both off
 *   batch_submit_items_per_s a 10 000-item POST /v1/batches, in items/s, beside the same items as
 *                            plain POST /v1/jobs (batch_submit_vs_jobs_ratio)
 *   quality_cost_ratio       the quality stage ÷ the ffmpeg stage of the e2e job, measured by default
 *                            (sampled), with the sampled PSNR/SSIM against a full measurement
 *   ffmpeg_malloc_*_speedup  the e2e encode and its sampled quality measurement with glibc's malloc
 *                            defaults ÷ with the settings the quality comparisons get (bench/ffmpeg-malloc.ts)
 *   chunked_speedup_w2       a 120 s 1080p encode, one single-threaded ffmpeg ÷ a chunked job on two
 *                            single-threaded workers; chunked_pair_ceiling_w2 is what two plain ffmpegs at once
 *                            reach; chunked_model_speedup_w16 simulates 16 (bench/chunked.ts)
 *   ladder_speedup_w2        a 60 s 1080p ladder job on one worker ÷ on two, single-threaded encodes (bench/ladder.ts)
 *   previews_speedup_w2      GIF/WebP previews of a 10-minute clip, one job on one worker ÷ on two (bench/previews.ts)
 *   target_quality_probe_cost  a quality target's CRF search (samples, probes, their SSIM) ÷ the final
 *                            encode, for a 120 s 720p clip (bench/target-quality.ts)
 *   upload_cpu_saving        a worker's uploads: CPU through lib-storage from a file stream ÷ through
 *                            S3Store.upload, which reads files of up to four parts whole (bench/upload.ts)
 * Quality measurement is off in parts 1–4 (a second pass over the media, not overhead); part 5
 * measures what it costs.
 * Prints `name: value` lines. BENCH_QUICK=1 shortens every part (for a smoke run).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GatewayClient } from '@ffleet/cli';
import { ffmpegOutput, PoolRegistry } from '@ffleet/core';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { startLocalFleet } from '../scripts/lib/local-fleet.ts';
import { makeSampleClip } from '../scripts/lib/sample-clip.ts';
import { measureBatchSubmit } from './batch-submit.ts';
import { measureChunked } from './chunked.ts';
import { E2E_COMMAND, e2eClip } from './e2e-job.ts';
import { measureMallocSettings } from './ffmpeg-malloc.ts';
import { followToTheEnd } from './follow-job.ts';
import { measureIdleMemory } from './idle-memory.ts';
import { measureLadder } from './ladder.ts';
import { measurePreviews } from './previews.ts';
import { localObjectPath, measureQualityCost } from './quality-cost.ts';
import { measureSubmitVsBareRoute, submitBenchJob } from './submit-route.ts';
import { measureTargetQuality } from './target-quality.ts';
import { measureTracingOverhead } from './tracing-overhead.ts';
import { measureUploads } from './upload.ts';
import { wrkPostRate } from './wrk.ts';

const quick = process.env.BENCH_QUICK === '1';
const print = (name: string, value: string | number) => process.stdout.write(`${name}: ${value}\n`);
const round = (n: number, digits = 3) => Number(n.toFixed(digits));

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const work = await mkdtemp(join(tmpdir(), 'ffleet-bench-'));
const fleet = await startLocalFleet({ quiet: true, extraEnv: { FFLEET_QUALITY_DEFAULT: 'false' } });
const pool = fleet.pools[0]!;
const bucket = fleet.stack.bucket;
const client = new GatewayClient(fleet.gatewayUrl);
const prefix = 'ffleet';

try {
  print('machine_cores', (await import('node:os')).availableParallelism());
  print('pool', pool);

  // 1. End-to-end job time vs bare ffmpeg on the same 30 s 1080p input and command.
  const { seconds, ...clipOptions } = e2eClip(quick);
  const clip = join(work, 'input.mp4');
  await makeSampleClip(clip, { seconds, ...clipOptions });
  await fleet.stack.putFile('bench/input.mp4', clip);
  const options = E2E_COMMAND;
  const runs = quick ? 1 : 3;
  const bare: number[] = [];
  const fleetTimes: number[] = [];
  for (let run = 0; run < runs; run++) {
    // Alternate so machine drift hits both sides alike.
    const started = performance.now();
    await ffmpegOutput(
      'ffmpeg',
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-nostdin',
        '-y',
        '-i',
        clip,
        ...options.split(' '),
        join(work, 'bare.mp4'),
      ],
      { timeoutMs: 600_000 },
    );
    bare.push(performance.now() - started);

    const submitted = performance.now();
    const { id } = await client.request<{ id: string }>('POST', '/v1/jobs', {
      name: 'bench-e2e',
      compute: pool,
      inputs: [{ url: `s3://${bucket}/bench/input.mp4` }],
      outputs: [{ url: `s3://${bucket}/bench/out-${run}.mp4`, options }],
    });
    const job = await followToTheEnd(fleet.gatewayUrl, id);
    if (job.state !== 'succeeded') throw new Error(`bench job failed: ${JSON.stringify(job.error)}`);
    fleetTimes.push(performance.now() - submitted);
  }
  const bareMedian = percentile(bare, 50);
  const fleetMedian = percentile(fleetTimes, 50);
  print('e2e_input', `${seconds}s 1920x1080 h264, command: ${options}`);
  print('e2e_bare_ffmpeg_ms', Math.round(bareMedian));
  print('e2e_fleet_job_ms', Math.round(fleetMedian));
  print('e2e_overhead_ratio', round(fleetMedian / bareMedian));

  // 2. Queue pickup latency with a warm, idle worker: ffleet's pipeline vs a bare BullMQ worker.
  const samples = quick ? 30 : 200;
  const redis = new Redis(fleet.stack.redisUrl, { maxRetriesPerRequest: null });
  const poolQueue = new Queue(
    (await client.request<{ pools: { name: string; queue: string }[] }>('GET', '/v1/pools')).pools.find(
      (p) => p.name === pool,
    )!.queue,
    { connection: redis, prefix },
  );
  const ffleetPickup: number[] = [];
  for (let i = 0; i < samples; i++) {
    // A job whose input does not exist: it is picked up, then fails fast without ffmpeg.
    const { id } = await client.request<{ id: string }>('POST', '/v1/jobs', {
      name: 'bench-pickup',
      compute: pool,
      attempts: 1,
      inputs: [{ url: `s3://${bucket}/bench/missing-${i}.mp4` }],
      outputs: [{ url: `s3://${bucket}/bench/never.mp4` }],
    });
    for (;;) {
      const job = await poolQueue.getJob(id);
      if (job?.finishedOn) {
        ffleetPickup.push(job.processedOn! - job.timestamp);
        break;
      }
      await sleep(2);
    }
  }
  const bareQueue = new Queue('bench-bare', { connection: redis, prefix: 'bench' });
  const bareWorkerConnection = new Redis(fleet.stack.redisUrl, { maxRetriesPerRequest: null });
  const bareWorker = new Worker('bench-bare', async () => {}, {
    connection: bareWorkerConnection,
    prefix: 'bench',
  });
  await bareWorker.waitUntilReady();
  const barePickup: number[] = [];
  for (let i = 0; i < samples; i++) {
    const job = await bareQueue.add('noop', { i });
    for (;;) {
      const fresh = await bareQueue.getJob(job.id!);
      if (fresh?.finishedOn) {
        barePickup.push(fresh.processedOn! - fresh.timestamp);
        break;
      }
      await sleep(2);
    }
  }
  await bareWorker.close();
  bareWorkerConnection.disconnect();
  print('pickup_samples', samples);
  print('pickup_ms_p50', percentile(ffleetPickup, 50));
  print('pickup_ms_p95', percentile(ffleetPickup, 95));
  print('pickup_bare_bullmq_ms_p50', percentile(barePickup, 50));
  print('pickup_bare_bullmq_ms_p95', percentile(barePickup, 95));

  // 2b. Memory of the gateway and the worker at rest, now that both have served jobs.
  await measureIdleMemory({ print, gatewayPid: fleet.gatewayPid, workerPid: fleet.workers[0]!.pid });

  // 3. Submit throughput: HTTP POST /v1/jobs (validated, queued) vs bare Queue.add, both with the
  // same number in flight for the same time. The HTTP load comes from wrk (C), so the rate is the
  // gateway's, not a JavaScript client's. Jobs go to a pool with no worker: nothing else runs.
  const idlePool = pool === 'xilinx' ? 'nvidia' : 'xilinx';
  const submitSeconds = quick ? 2 : 6;
  const inFlight = 32;
  const body = submitBenchJob(bucket, idlePool);
  // A short first run warms the gateway's JIT, as the bare side is warmed by part 2. Then runs
  // of 3 s, each on an empty queue: 6 s in one go would pass the pool's maxQueued (100 000) and
  // meet 429s.
  const submitUrl = `${fleet.gatewayUrl}/v1/jobs`;
  await wrkPostRate(submitUrl, JSON.stringify(body), inFlight, 1, work);
  const idleQueue = new Queue(PoolRegistry.load().get(idlePool)!.queue, { connection: redis, prefix });
  const runSeconds = quick ? 2 : 3;
  let httpRateSum = 0;
  for (let run = 0; run < submitSeconds / runSeconds; run++) {
    await idleQueue.drain(true);
    httpRateSum += await wrkPostRate(submitUrl, JSON.stringify(body), inFlight, runSeconds, work);
  }
  const httpRate = httpRateSum / (submitSeconds / runSeconds);
  const rawQueue = new Queue('bench-submit', { connection: redis, prefix: 'bench' });
  let added = 0;
  const deadline = performance.now() + submitSeconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < deadline) {
        await rawQueue.add('bench-submit', { spec: body });
        added++;
      }
    }),
  );
  const bareRate = added / ((performance.now() - started) / 1000);
  print('submit_in_flight', inFlight);
  print('submit_http_per_s', Math.round(httpRate));
  print('submit_bare_queue_add_per_s', Math.round(bareRate));
  print('submit_rate_ratio', round(httpRate / bareRate));
  await Promise.all([poolQueue.close(), bareQueue.close(), rawQueue.close(), idleQueue.close()]);
  redis.disconnect();

  // 3b. The same submissions against a bare Fastify route doing the same Queue.add: HTTP costs
  // both alike, so the ratio is what ffleet's own checks, idempotency and tracing cost.
  await measureSubmitVsBareRoute({
    quick,
    work,
    print,
    gatewayUrl: fleet.gatewayUrl,
    gatewayPid: fleet.gatewayPid,
    redisUrl: fleet.stack.redisUrl,
    body,
    inFlight,
  });

  // 3c. A 10 000-item batch against the same items as plain jobs.
  await measureBatchSubmit({ quick, print, gatewayUrl: fleet.gatewayUrl, bucket, pool: idlePool });

  // 4. Tracing + metrics on vs off, on two fleets of their own.
  await measureTracingOverhead({ quick, work, print });

  // 5. What quality measurement costs the e2e job, sampled (the default) and in full.
  await measureQualityCost({
    client,
    pool,
    input: `s3://${bucket}/bench/input.mp4`,
    outputPrefix: `s3://${bucket}/bench/quality-`,
    command: options,
    runs: quick ? 1 : 3,
    localPath: (url) => localObjectPath(fleet.stack.dataDir, url),
    print,
  });
  // 5b. The malloc settings of the quality comparisons, against glibc's defaults, on the encode too.
  await measureMallocSettings({ quick, work, print });
  // 6. One long encode split over two workers, on a fleet of its own (after this one stops using the cores).
  await fleet.stop();
  await measureChunked({ quick, work, print });
  // 7. A ladder's rungs spread over two workers, against the same job on one.
  await measureLadder({ quick, work, print });
  // 8. A previews job's snippets spread over two workers, against the same job on one.
  await measurePreviews({ quick, work, print });
  // 9. A quality target's CRF search on samples, against the final encode it chose.
  await measureTargetQuality({ quick, work, print });
  // 10. What a worker's uploads cost its CPU.
  await measureUploads({ quick, work, print });
} finally {
  await fleet.stop();
  await rm(work, { recursive: true, force: true });
}
