/**
 * What splitting a long encode over workers gains, measured on this machine in one run:
 *
 *   chunked_speedup_w2         one 1080p encode as a single single-threaded ffmpeg (the mean of a
 *                              run before the fleet's and one after) ÷ the same encode as a
 *                              chunked job on two single-threaded workers (one slot each)
 *   chunked_pair_ceiling_w2    the same single encode ÷ its two halves encoded by two plain
 *                              ffmpegs at once, no fleet: the most any split over two workers can
 *                              gain on this machine at this time (two encodes at once each run
 *                              slower than one alone); chunked_w2_of_ceiling is the job's share of it
 *   chunked_model_speedup_w16  from that job's measured times (the plan, when it queued each
 *                              child, each chunk, the audio, the join), the critical path on 16
 *                              workers vs the same pipeline on one: a simulation (assumptions
 *                              printed with it)
 */
import { join } from 'node:path';
import type { JobView } from '@ffleet/cli';
import { ffmpegOutput, splitChildId, splitChunks } from '@ffleet/core';
import { makeSampleClip } from '../scripts/lib/sample-clip.ts';
import { type PartOptions, runPartAlone } from './part-alone.ts';
import { childStepsSummary, pipelineOnWorkers } from './pipeline-on-workers.ts';

/**
 * x264's default preset, the one a ladder uses too: splitting pays off on encodes that take a
 * while. A chunk's fixed costs (its pickup, download, upload and records) and the plan
 * and join are the same whatever the preset, so a very fast preset makes them weigh more.
 */
const COMMAND = '-c:v libx264 -preset medium -crf 23 -threads 1 -c:a aac -b:a 128k';
/**
 * One thread for decoding and filtering too, on both sides: each worker stands for a machine of
 * its own, so neither side may borrow the other's core (ffmpeg decodes on every core by default).
 */
const INPUT_OPTIONS = '-threads 1';
const GLOBAL_OPTIONS = '-filter_threads 1';
/**
 * As a user with the model's 16 workers would choose: 120 s in 8 s segments is 15 chunks and
 * the audio, one task per worker, so no chunk waits for a second round; on two workers, fewer
 * chunks also means fewer fixed costs (each chunk's pickup, ffmpeg start and transfers).
 */
const SEGMENT_SECONDS = 8;
const MODEL_WORKERS = 16;

export async function measureChunked({ quick, work, print }: PartOptions): Promise<void> {
  const seconds = quick ? 24 : 120;
  const clip = join(work, 'chunked-input.mp4');
  await makeSampleClip(clip, { seconds, size: '1920x1080', rate: 25 });

  print(
    'chunked_input',
    `${seconds}s 1920x1080 25 fps h264+aac, segments of ${SEGMENT_SECONDS}s, command: ${GLOBAL_OPTIONS} ${INPUT_OPTIONS} -i … ${COMMAND}`,
  );
  // The baseline, alone on the machine before the fleet starts and again after it stops: this
  // VM's speed drifts by up to a third within minutes, and the mean meets the drift as the job did.
  // The pair of halves brackets the job the same way, just inside the single runs.
  const singleBefore = await encodeAlone(clip, work);
  const pairBefore = await encodeHalvesAtOnce(clip, work, seconds);
  const chunkedMs = await chunkedOnFleet(clip, print);
  const pairAfter = await encodeHalvesAtOnce(clip, work, seconds);
  const singleAfter = await encodeAlone(clip, work);
  const singleMs = (singleBefore + singleAfter) / 2;
  const pairMs = (pairBefore + pairAfter) / 2;
  const speedup = singleMs / chunkedMs;
  const ceiling = singleMs / pairMs;
  print('chunked_single_ffmpeg_ms', Math.round(singleMs));
  print('chunked_single_ffmpeg_before_after_ms', `${Math.round(singleBefore)} ${Math.round(singleAfter)}`);
  print('chunked_pair_ffmpeg_ms', Math.round(pairMs));
  print('chunked_pair_ffmpeg_before_after_ms', `${Math.round(pairBefore)} ${Math.round(pairAfter)}`);
  print('chunked_pair_ceiling_w2', ceiling.toFixed(2));
  print('chunked_job_w2_ms', Math.round(chunkedMs));
  print('chunked_w2_of_ceiling', (speedup / ceiling).toFixed(2));
  print('chunked_speedup_w2', speedup.toFixed(2));
}

/** The whole encode as one ffmpeg on one thread; its wall time. */
async function encodeAlone(clip: string, work: string): Promise<number> {
  const started = performance.now();
  await encode(clip, [], join(work, 'single.mp4'));
  return performance.now() - started;
}

/**
 * The clip's first and second halves encoded by two ffmpegs at once, each on one thread, with
 * nothing else running; the wall time until both end. The halves meet at a keyframe of the
 * sample clip (one every 2 s), so neither decodes frames it does not encode.
 */
async function encodeHalvesAtOnce(clip: string, work: string, seconds: number): Promise<number> {
  const half = String(Math.round(seconds / 4) * 2);
  const started = performance.now();
  await Promise.all([
    encode(clip, ['-t', half], join(work, 'first-half.mp4')),
    encode(clip, ['-ss', half], join(work, 'second-half.mp4')),
  ]);
  return performance.now() - started;
}

async function encode(clip: string, range: string[], output: string): Promise<void> {
  await ffmpegOutput(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-y'],
      ...GLOBAL_OPTIONS.split(' '),
      ...INPUT_OPTIONS.split(' '),
      ...range,
      ...['-i', clip],
      ...COMMAND.split(' '),
      output,
    ],
    { timeoutMs: 3_600_000 },
  );
}

/**
 * The same encode as a chunked job on a fleet of two single-slot workers; prints what its
 * children took and the 16-worker model, returns the job's wall time.
 */
async function chunkedOnFleet(clip: string, print: PartOptions['print']): Promise<number> {
  const chunkIds = (job: JobView) =>
    Array.from({ length: splitChunks(job.pipeline)!.total }, (_, i) => splitChildId.chunk(job.id, i));
  const { ms, job, children } = await pipelineOnWorkers(
    clip,
    2,
    'chunked',
    ({ input, folder }) => ({
      globalOptions: GLOBAL_OPTIONS,
      inputs: [{ url: input, options: INPUT_OPTIONS }],
      outputs: [{ url: `${folder}out.mp4`, options: COMMAND }],
      split: { segmentSeconds: SEGMENT_SECONDS },
    }),
    // The chunks in order, then the audio.
    (job) => [...chunkIds(job), splitChildId.audio(job.id)],
  );
  const chunks = children.length - 1;
  const at = (time: string | null) => Date.parse(time!) - Date.parse(job.createdAt);
  // Each child as it ran here: when the plan queued it, and how long it took.
  const tasks = children
    .map((c) => ({ readyMs: at(c.createdAt), ms: c.timings!.total! }))
    .sort((a, b) => a.readyMs - b.readyMs);
  // The plan's last act is queueing the audio; the join runs from the last child's end to the job's.
  const planMs = Math.max(...tasks.map((t) => t.readyMs));
  const joinMs = at(job.finishedAt) - Math.max(...children.map((c) => at(c.finishedAt)));
  const serial = planMs + tasks.reduce((sum, t) => sum + t.ms, 0) + joinMs;
  const parallel = criticalPath(tasks, MODEL_WORKERS, planMs) + joinMs;

  print('chunked_chunks', chunks);
  print('chunked_first_chunk_queued_ms', Math.min(...tasks.map((t) => t.readyMs)));
  print('chunked_plan_ms', planMs);
  print('chunked_join_ms', joinMs);
  print('chunked_chunk_ms_max', Math.max(...children.slice(0, chunks).map((c) => c.timings!.total!)));
  print('chunked_audio_ms', children.at(-1)!.timings!.total!);
  // Where the job's time went: the parent's steps (plan and join together), and each step
  // summed over the children.
  print(
    'chunked_parent_steps_ms',
    Object.entries(job.timings ?? {})
      .map(([step, ms]) => `${step} ${ms}`)
      .join(', '),
  );
  print('chunked_children_steps_ms', childStepsSummary(children));
  print(
    'chunked_model_assumptions',
    `${MODEL_WORKERS} workers of one slot each, one of them running the plan; every chunk and the audio ` +
      'take what they took here (on 2 workers of this machine) and can start when the plan queued them ' +
      '(measured here), in that order; the join runs alone after the last; ' +
      'no pickup latency and no contention on S3 or Redis',
  );
  print('chunked_model_w1_ms', Math.round(serial));
  print(`chunked_model_w${MODEL_WORKERS}_ms`, Math.round(parallel));
  print(`chunked_model_speedup_w${MODEL_WORKERS}`, (serial / parallel).toFixed(2));
  return ms;
}

/**
 * When the last of `tasks` ends on `workers` single-slot workers, one of them busy with the plan
 * until `planMs`: each task, in order, starts on the first worker free once it is ready.
 */
export function criticalPath(
  tasks: readonly { readyMs: number; ms: number }[],
  workers: number,
  planMs: number,
): number {
  const free = Array.from({ length: workers }, (_, i) => (i === 0 ? planMs : 0));
  for (const task of tasks) {
    const slot = free.indexOf(Math.min(...free));
    free[slot] = Math.max(free[slot]!, task.readyMs) + task.ms;
  }
  return Math.max(...free);
}

// `node bench/chunked.ts` (BENCH_QUICK=1 for a 24 s clip): this part alone.
if (import.meta.main) await runPartAlone('chunked', measureChunked);
