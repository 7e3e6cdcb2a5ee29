import { setTimeout as sleep } from 'node:timers/promises';
import { isFinishedState, type JobView } from '@ffleet/core';
import cliProgress from 'cli-progress';
import type { GatewayClient } from '../client.ts';
import { printJob } from './print.ts';

/** Follows a job until it finishes, with a live progress bar on a terminal. */
export async function watchJob(
  client: GatewayClient,
  id: string,
  opts: { intervalMs?: number } = {},
): Promise<JobView> {
  const interactive = process.stderr.isTTY;
  const bar = new cliProgress.SingleBar(
    {
      format: ' {stage} |{bar}| {percentage}% | {fps} fps | {speed}x | {state}{chunks}',
      hideCursor: true,
      stream: process.stderr,
      noTTYOutput: false,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let lastLine = '';
  for (;;) {
    const job = await client.request<JobView>('GET', `/v1/jobs/${id}`);
    const percent = Math.floor(job.progress?.percent ?? 0);
    const payload = {
      stage: (job.progress?.stage ?? job.state).padEnd(8),
      fps: Math.round(job.progress?.fps ?? 0),
      speed: (job.progress?.speed ?? 0).toFixed(2),
      state: job.state,
      chunks: chunksText(job),
    };
    if (interactive) {
      if (!started) {
        bar.start(100, percent, payload);
        started = true;
      } else bar.update(percent, payload);
    } else {
      const line = `${job.id} ${job.state} ${payload.stage.trim()} ${percent}%${payload.chunks}`;
      if (line !== lastLine) process.stderr.write(`${line}\n`);
      lastLine = line;
    }
    if (isFinishedState(job.state)) {
      if (started) bar.stop();
      printJob(job);
      return job;
    }
    await sleep(opts.intervalMs ?? 500);
  }
}

/** A chunked encode's chunks and frames done of total, or previews' sheets and snippets, from the job view. */
export function chunksText(job: JobView): string {
  const pipeline = job.pipeline;
  if (pipeline?.kind === 'previews') {
    const { sheets, snippets } = pipeline;
    return `${sheets ? ` | sheets ${sheets.done}/${sheets.total}` : ''}${snippets ? ` | snippets ${snippets.done}/${snippets.total}` : ''}`;
  }
  if (pipeline?.kind === 'ladder') {
    const rungs = pipeline.rungs;
    const done = rungs ? ` | rungs ${rungs.filter((r) => r.state === 'done').length}/${rungs.length}` : '';
    const chunks = pipeline.chunks ? ` | chunks ${pipeline.chunks.done}/${pipeline.chunks.total}` : '';
    const frames = pipeline.frames ? ` | frames ${pipeline.frames.done}/${pipeline.frames.total}` : '';
    return `${done}${chunks}${frames}`;
  }
  if (pipeline?.kind !== 'split' || !pipeline.chunks) return '';
  const { chunks, frames } = pipeline;
  return ` | chunks ${chunks.done}/${chunks.total}${frames ? ` | frames ${frames.done}/${frames.total}` : ''}`;
}
