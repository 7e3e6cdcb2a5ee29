/**
 * What splitting a long encode over workers gains, measured on this machine in one run:
 *
 *   chunked_speedup_w2         one 1080p encode as a single single-threaded ffmpeg ÷ the same
 *                              encode as a chunked job on two single-threaded workers (one slot each)
 *   chunked_model_speedup_w16  from that job's measured times (plan and join, each chunk, the
 *                              audio), the critical path on 16 workers vs the same pipeline on one:
 *                              a simulation (assumptions printed with it)
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GatewayClient, type JobView } from '@ffleet/cli';
import { ffmpegOutput, splitChunks } from '@ffleet/core';
import { localPool, startLocalFleet } from '../scripts/lib/local-fleet.ts';
import { makeSampleClip } from '../scripts/lib/sample-clip.ts';
import { followToTheEnd } from './follow-job.ts';
import { type PartOptions, runPartAlone } from './part-alone.ts';

/**
 * x264's default preset, the one a ladder uses too: splitting pays off on encodes that take a
 * while. A chunk's fixed costs (its pickup, download, probe, upload and records) and the plan
 * and join are the same whatever the preset, so a very fast preset makes them weigh more.
 */
const COMMAND = '-c:v libx264 -preset medium -crf 23 -threads 1 -c:a aac -b:a 128k';
/**
 * One thread for decoding and filtering too, on both sides: each worker stands for a machine of
 * its own, so neither side may borrow the other's core (ffmpeg decodes on every core by default).
 */
const INPUT_OPTIONS = '-threads 1';
const GLOBAL_OPTIONS = '-filter_threads 1';
const SEGMENT_SECONDS = 6;
const MODEL_WORKERS = 16;

export async function measureChunked({ quick, work, print }: PartOptions): Promise<void> {
  const seconds = quick ? 24 : 120;
  const clip = join(work, 'chunked-input.mp4');
  await makeSampleClip(clip, { seconds, size: '1920x1080', rate: 25 });

  // The baseline: the whole encode as one ffmpeg on one thread.
  const started = performance.now();
  await ffmpegOutput(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-nostdin',
      '-y',
      ...GLOBAL_OPTIONS.split(' '),
      ...INPUT_OPTIONS.split(' '),
      '-i',
      clip,
      ...COMMAND.split(' '),
      join(work, 'single.mp4'),
    ],
    { timeoutMs: 3_600_000 },
  );
  const singleMs = performance.now() - started;

  const pool = localPool();
  const fleet = await startLocalFleet({
    quiet: process.env.BENCH_VERBOSE !== '1',
    pools: [pool, pool],
    extraEnv: { FFLEET_QUALITY_DEFAULT: 'false', FFLEET_CONCURRENCY: '1' },
  });
  try {
    const bucket = fleet.stack.bucket;
    await fleet.stack.putFile('bench/chunked.mp4', clip);
    const client = new GatewayClient(fleet.gatewayUrl);
    const submitted = performance.now();
    const { id } = await client.request<{ id: string }>('POST', '/v1/jobs', {
      name: 'bench-chunked',
      compute: pool,
      globalOptions: GLOBAL_OPTIONS,
      inputs: [{ url: `s3://${bucket}/bench/chunked.mp4`, options: INPUT_OPTIONS }],
      outputs: [{ url: `s3://${bucket}/bench/chunked-out.mp4`, options: COMMAND }],
      split: { segmentSeconds: SEGMENT_SECONDS },
    });
    const job = await followToTheEnd(fleet.gatewayUrl, id);
    const chunkedMs = performance.now() - submitted;
    if (job.state !== 'succeeded') throw new Error(`chunked bench job failed: ${JSON.stringify(job.error)}`);

    const chunks = splitChunks(job.pipeline)!.total;
    const children = await Promise.all([
      ...Array.from({ length: chunks }, (_, i) => client.request<JobView>('GET', `/v1/jobs/${id}-c${i}`)),
      client.request<JobView>('GET', `/v1/jobs/${id}-a`),
    ]);
    const childMs = children.map((c) => c.timings!.total);
    // The parent's own work (plan, then join) is its total without the time its children ran.
    const parentMs = job.timings!.total - (job.timings!.chunks ?? 0);
    const serial = parentMs + childMs.reduce((a, b) => a + b, 0);
    const parallel = parentMs + makespan(childMs, MODEL_WORKERS);

    print(
      'chunked_input',
      `${seconds}s 1920x1080 25 fps h264+aac, segments of ${SEGMENT_SECONDS}s, command: ${GLOBAL_OPTIONS} ${INPUT_OPTIONS} -i … ${COMMAND}`,
    );
    print('chunked_single_ffmpeg_ms', Math.round(singleMs));
    print('chunked_job_w2_ms', Math.round(chunkedMs));
    print('chunked_speedup_w2', (singleMs / chunkedMs).toFixed(2));
    print('chunked_chunks', chunks);
    print('chunked_plan_and_join_ms', Math.round(parentMs));
    print('chunked_chunk_ms_max', Math.max(...childMs.slice(0, chunks)));
    print('chunked_audio_ms', childMs.at(-1)!);
    print(
      'chunked_model_assumptions',
      `${MODEL_WORKERS} workers of one slot each; every chunk and the audio take what they took here ` +
        '(on 2 workers of this machine); plan and join run alone before and after; longest first; ' +
        'no pickup latency and no contention on S3 or Redis',
    );
    print('chunked_model_w1_ms', Math.round(serial));
    print(`chunked_model_w${MODEL_WORKERS}_ms`, Math.round(parallel));
    print(`chunked_model_speedup_w${MODEL_WORKERS}`, (serial / parallel).toFixed(2));
    await writeFile(join(work, 'chunked-job.json'), JSON.stringify(job));
  } finally {
    await fleet.stop();
  }
}

/** Longest-first list scheduling of tasks on `workers` slots: when the last one ends. */
export function makespan(tasks: readonly number[], workers: number): number {
  const free = Array.from({ length: workers }, () => 0);
  for (const task of [...tasks].sort((a, b) => b - a)) {
    const slot = free.indexOf(Math.min(...free));
    free[slot] = free[slot]! + task;
  }
  return Math.max(...free);
}

// `node bench/chunked.ts` (BENCH_QUICK=1 for a 24 s clip): this part alone.
if (import.meta.main) await runPartAlone('chunked', measureChunked);
