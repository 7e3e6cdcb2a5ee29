/**
 * What spreading a ladder's rungs over workers gains, measured on this machine in one run:
 *
 *   ladder_speedup_w2   the whole default ladder of a 60 s 1080p clip (nine rungs and the audio,
 *                       each encode single-threaded) as a job on one worker, its encodes one after
 *                       another ÷ the same job on two workers
 *
 * Both runs include the plan and the packaging (HLS and DASH), which one worker does alone.
 * `node bench/ladder.ts` runs this part on its own.
 */
import { join } from 'node:path';
import { makeSampleClip } from '../scripts/lib/sample-clip.ts';
import { type PartOptions, runPartAlone } from './part-alone.ts';
import { pipelineOnWorkers } from './pipeline-on-workers.ts';

const PRESET = 'veryfast';

export async function measureLadder({ quick, work, print }: PartOptions): Promise<void> {
  const seconds = quick ? 12 : 60;
  const clip = join(work, 'ladder-input.mp4');
  await makeSampleClip(clip, { seconds, size: '1920x1080', rate: 25 });
  const w1 = await ladderOnWorkers(clip, 1);
  const w2 = await ladderOnWorkers(clip, 2);
  print(
    'ladder_input',
    `${seconds}s 1920x1080 25 fps h264+aac, default ladder, preset ${PRESET}, 1 thread per encode`,
  );
  print('ladder_rungs', w2.rungs);
  print('ladder_job_w1_ms', Math.round(w1.ms));
  print('ladder_job_w2_ms', Math.round(w2.ms));
  print('ladder_speedup_w2', (w1.ms / w2.ms).toFixed(2));
}

/** The ladder job on a fresh local fleet of `workers` single-slot workers: its wall time, submit to end. */
async function ladderOnWorkers(clip: string, workers: number): Promise<{ ms: number; rungs: number }> {
  const { ms, job } = await pipelineOnWorkers(clip, workers, 'ladder', ({ input, folder }) => ({
    inputs: [{ url: input }],
    outputs: [{ url: folder }],
    ladder: { preset: PRESET, threads: 1 },
  }));
  return { ms, rungs: job.pipeline?.kind === 'ladder' ? (job.pipeline.rungs?.length ?? 0) : 0 };
}

if (import.meta.main) await runPartAlone('ladder', measureLadder);
