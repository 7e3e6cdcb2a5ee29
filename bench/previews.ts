/**
 * What spreading a previews job's snippets over workers gains, measured on this machine in one run:
 *
 *   previews_speedup_w2   animated GIF and WebP previews of a 10-minute clip (one of each per 30 s
 *                         snippet, every child's ffmpeg single-threaded) as a job on one worker,
 *                         its snippets one after another ÷ the same job on two workers
 *
 * Both runs include the plan (download and analysis) and the manifest, which one worker does alone.
 * `node bench/previews.ts` runs this part on its own.
 */
import { join } from 'node:path';
import { makeSampleClip } from '../scripts/lib/sample-clip.ts';
import { type PartOptions, runPartAlone } from './part-alone.ts';
import { pipelineOnWorkers } from './pipeline-on-workers.ts';

const SNIPPET_SECONDS = 30;
const SIZE = '640x360';

export async function measurePreviews({ quick, work, print }: PartOptions): Promise<void> {
  const seconds = quick ? 60 : 600;
  const clip = join(work, 'previews-input.mp4');
  await makeSampleClip(clip, { seconds, size: SIZE, rate: 25 });
  const w1 = await previewsOnWorkers(clip, 1);
  const w2 = await previewsOnWorkers(clip, 2);
  print(
    'previews_input',
    `${seconds}s ${SIZE} 25 fps h264+aac, GIF and WebP per ${SNIPPET_SECONDS} s snippet (10 fps, 240 px), 1 thread per child`,
  );
  print('previews_snippets', w2.snippets);
  print('previews_job_w1_ms', Math.round(w1.ms));
  print('previews_job_w2_ms', Math.round(w2.ms));
  print('previews_speedup_w2', (w1.ms / w2.ms).toFixed(2));
}

/** The previews job on a fresh local fleet of `workers` single-slot workers: its wall time, submit to end. */
async function previewsOnWorkers(clip: string, workers: number): Promise<{ ms: number; snippets: number }> {
  const { ms, job } = await pipelineOnWorkers(clip, workers, 'previews', ({ input, folder }) => ({
    inputs: [{ url: input }],
    outputs: [{ url: folder }],
    previews: {
      poster: false,
      sprite: false,
      animations: { snippetSeconds: SNIPPET_SECONDS, fps: 10, width: 240, formats: ['gif', 'webp'] },
      threads: 1,
    },
  }));
  return { ms, snippets: job.pipeline?.kind === 'previews' ? (job.pipeline.snippets?.total ?? 0) : 0 };
}

if (import.meta.main) await runPartAlone('previews', measurePreviews);
