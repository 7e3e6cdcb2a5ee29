/**
 * What spreading a previews job's snippets over workers gains, measured on this machine in one run:
 *
 *   previews_speedup_w2   animated GIF and WebP previews of a 10-minute clip (one of each per 30 s
 *                         snippet, every child's ffmpeg single-threaded) as a job on one worker,
 *                         its snippets one after another ÷ the same job on two workers
 *
 * Both runs include the plan (download, analysis, cutting each child's piece) and the manifest,
 * which one worker does alone. Beside it, the snippet children's steps summed over each run
 * (download of their pieces, ffmpeg, upload).
 * `node bench/previews.ts` runs this part on its own.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobView } from '@ffleet/cli';
import { previewsChildId } from '@ffleet/core';
import { makeSampleClip } from '../scripts/lib/sample-clip.ts';
import { type PartOptions, runPartAlone } from './part-alone.ts';
import { childStepsSummary, pipelineOnWorkers } from './pipeline-on-workers.ts';

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
  print('previews_source_mib', ((await stat(clip)).size / 2 ** 20).toFixed(1));
  // Where the children's time went, summed over them: each downloads its own piece of the source.
  print('previews_children_w1_steps_ms', w1.childSteps);
  print('previews_children_w2_steps_ms', w2.childSteps);
  print('previews_job_w1_ms', Math.round(w1.ms));
  print('previews_job_w2_ms', Math.round(w2.ms));
  print('previews_speedup_w2', (w1.ms / w2.ms).toFixed(2));
}

/**
 * The previews job on a fresh local fleet of `workers` single-slot workers: its wall time
 * (submit to end), its snippets, and its children's steps summed.
 */
async function previewsOnWorkers(
  clip: string,
  workers: number,
): Promise<{ ms: number; snippets: number; childSteps: string }> {
  const snippetIds = (job: JobView) =>
    Array.from({ length: snippetsOf(job) }, (_, i) => previewsChildId.snippet(job.id, i));
  const { ms, job, children } = await pipelineOnWorkers(
    clip,
    workers,
    'previews',
    ({ input, folder }) => ({
      inputs: [{ url: input }],
      outputs: [{ url: folder }],
      previews: {
        poster: false,
        sprite: false,
        animations: { snippetSeconds: SNIPPET_SECONDS, fps: 10, width: 240, formats: ['gif', 'webp'] },
        threads: 1,
      },
    }),
    snippetIds,
  );
  return { ms, snippets: snippetsOf(job), childSteps: childStepsSummary(children) };
}

const snippetsOf = (job: JobView) =>
  job.pipeline?.kind === 'previews' ? (job.pipeline.snippets?.total ?? 0) : 0;

if (import.meta.main) await runPartAlone('previews', measurePreviews);
