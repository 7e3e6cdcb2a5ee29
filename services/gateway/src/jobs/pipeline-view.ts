import {
  audioTracksOf,
  type HdrColour,
  isJobProgress,
  type JobData,
  type LadderState,
  type LadderView,
  ladderChildId,
  type PipelineView,
  type PreviewsState,
  type PreviewsView,
  previewsChildId,
  type RedisClient,
  rungFrameRate,
  rungFrames,
  type SplitState,
  type SplitView,
  snippets,
  splitChildId,
  spriteSheets,
  toneMapPeakNits,
} from '@ffleet/core';
import type { Job, Queue } from 'bullmq';

/** A pipeline's parent as its view shows it, by its kind. */
export function pipelineView(
  redis: RedisClient,
  queue: Queue<JobData>,
  job: Job<JobData, unknown>,
): Promise<PipelineView> {
  const kind = job.data.pipeline?.kind;
  if (kind === 'ladder') return ladderView(redis, queue, job);
  if (kind === 'previews') return previewsView(redis, queue, job);
  return splitView(redis, queue, job);
}

type ChildState = 'queued' | 'running' | 'done' | 'failed';

/**
 * The state of each of a parent's children, and how far its running ones are. Children have
 * deterministic ids, so this is a few Redis commands whatever their number: which children sit
 * in the queue's completed and failed sets, and which of the (few) active jobs are this job's.
 */
async function childStates(
  redis: RedisClient,
  queue: Queue<JobData>,
  parentId: string,
  ids: string[],
): Promise<{ states: ChildState[]; progress: Map<string, number> }> {
  if (ids.length === 0) return { states: [], progress: new Map() };
  const [completed, failed, active] = await Promise.all([
    redis.zmscore(queue.toKey('completed'), ...ids),
    redis.zmscore(queue.toKey('failed'), ...ids),
    redis.lrange(queue.toKey('active'), 0, -1),
  ]);
  const running = new Set(active.filter((id) => id.startsWith(`${parentId}-`)));
  const states = ids.map(
    (id, i): ChildState =>
      completed[i] !== null ? 'done' : failed[i] !== null ? 'failed' : running.has(id) ? 'running' : 'queued',
  );
  return { states, progress: await runningProgress(queue, [...running]) };
}

/** How many of these children are done, running and failed. */
function counts(states: readonly ChildState[]): {
  total: number;
  done: number;
  running: number;
  failed: number;
} {
  const count = (state: ChildState) => states.filter((s) => s === state).length;
  return { total: states.length, done: count('done'), running: count('running'), failed: count('failed') };
}

/** Previews as their view shows them: the pictures the plan made, sheets and snippets done, running, failed. */
async function previewsView(
  redis: RedisClient,
  queue: Queue<JobData>,
  job: Job<JobData, unknown>,
): Promise<PreviewsView> {
  const state = job.data.pipeline as PreviewsState;
  const plan = state.plan;
  if (!plan) return { kind: 'previews', step: state.step, pictures: null, sheets: null, snippets: null };
  const parentId = job.id!;
  const sheetIds = spriteSheets(plan).map((s) => previewsChildId.sheet(parentId, s.index));
  const snippetIds = snippets(plan).map((s) => previewsChildId.snippet(parentId, s.index));
  const { states } = await childStates(redis, queue, parentId, [...sheetIds, ...snippetIds]);
  return {
    kind: 'previews',
    step: state.step,
    pictures: plan.pictures.length,
    sheets: plan.sprite ? counts(states.slice(0, sheetIds.length)) : null,
    snippets: plan.animations ? counts(states.slice(sheetIds.length)) : null,
    ...(plan.hdr ? toneMapping(plan.hdr) : {}),
  };
}

/**
 * A chunked encode as its view shows it: chunks done, running and failed, and frames done of
 * the plan's total (finished chunks whole, running ones by their progress).
 */
async function splitView(
  redis: RedisClient,
  queue: Queue<JobData>,
  job: Job<JobData, unknown>,
): Promise<SplitView> {
  const state = job.data.pipeline as SplitState;
  const plan = state.plan;
  if (!plan) return { kind: 'split', step: state.step, chunks: null, frames: null, audio: 'none' };

  const parentId = job.id!;
  const chunkIds = plan.chunks.map((c) => splitChildId.chunk(parentId, c.index));
  const audioId = plan.audioStartSeconds === undefined ? undefined : splitChildId.audio(parentId);
  const ids = audioId ? [...chunkIds, audioId] : chunkIds;
  const { states, progress } = await childStates(redis, queue, parentId, ids);
  let framesDone = 0;
  plan.chunks.forEach((chunk, i) => {
    if (states[i] === 'done') framesDone += chunk.frames;
    else if (states[i] === 'running') framesDone += (chunk.frames * (progress.get(chunkIds[i]!) ?? 0)) / 100;
  });
  return {
    kind: 'split',
    step: state.step,
    chunks: counts(states.slice(0, chunkIds.length)),
    frames: { done: Math.round(framesDone), total: plan.chunks.reduce((sum, c) => sum + c.frames, 0) },
    audio: audioId ? states.at(-1)! : 'none',
  };
}

/**
 * A ladder as its view shows it: every rung kept (its size, bitrate, state and percent, and its
 * chunks when it is encoded in chunks), the rungs dropped with the reason, the chunks and the
 * frames encoded across every rung, and the audio.
 */
async function ladderView(
  redis: RedisClient,
  queue: Queue<JobData>,
  job: Job<JobData, unknown>,
): Promise<LadderView> {
  const state = job.data.pipeline as LadderState;
  const plan = state.plan;
  if (!plan) return { kind: 'ladder', step: state.step, rungs: null, dropped: [], audio: 'none' };
  const parentId = job.id!;
  // Each rung's children: its chunks, or the rung itself, with the frames each encodes.
  const parts = plan.rungs.kept.map((rung) =>
    plan.chunks
      ? plan.chunks.map((c) => ({
          id: ladderChildId.chunk(parentId, rung, c.index),
          frames: rungFrames(rung, c.frames),
        }))
      : [{ id: ladderChildId.rung(parentId, rung), frames: rungFrames(rung, plan.frames ?? 0) }],
  );
  const ids = parts.flat().map((p) => p.id);
  const audioIds = audioTracksOf(plan).map((_, i) => ladderChildId.audio(parentId, i));
  ids.push(...audioIds);
  const { states, progress } = await childStates(redis, queue, parentId, ids);
  const stateOf = new Map(ids.map((id, i) => [id, states[i]!]));
  let framesDone = 0;
  const rungs = plan.rungs.kept.map((rung, i) => {
    const own = parts[i]!.map((p) => ({ ...p, state: stateOf.get(p.id)! }));
    let done = 0;
    for (const p of own)
      done +=
        p.state === 'done'
          ? p.frames
          : p.state === 'running'
            ? (p.frames * (progress.get(p.id) ?? 0)) / 100
            : 0;
    framesDone += done;
    const frames = own.reduce((sum, p) => sum + p.frames, 0);
    const percent =
      frames > 0 ? (100 * done) / frames : own[0]!.state === 'done' ? 100 : (progress.get(own[0]!.id) ?? 0);
    const doneChunks = own.filter((p) => p.state === 'done').length;
    return {
      ...rung,
      // As the master playlist's FRAME-RATE states it: 29.97, not 29.97002997.
      frameRate: Math.round(rungFrameRate(plan.frameRate, rung) * 1000) / 1000,
      state: rungState(own.map((p) => p.state)),
      percent: Math.round(percent),
      ...(plan.chunks ? { chunks: { done: doneChunks, total: own.length } } : {}),
    };
  });
  const chunkStates = plan.chunks ? states.slice(0, states.length - audioIds.length) : undefined;
  return {
    kind: 'ladder',
    step: state.step,
    rungs,
    dropped: plan.rungs.dropped,
    ...(plan.rungs.note ? { note: plan.rungs.note } : {}),
    chunks: chunkStates ? counts(chunkStates) : null,
    ...(plan.chunkNote ? { chunkNote: plan.chunkNote } : {}),
    ...(plan.audioNote ? { audioNote: plan.audioNote } : {}),
    ...(plan.subtitleTracks
      ? { subtitles: plan.subtitleTracks.map(({ index: _index, ...subtitle }) => subtitle) }
      : {}),
    ...(plan.subtitleNote ? { subtitleNote: plan.subtitleNote } : {}),
    ...(plan.hdr ? toneMapping(plan.hdr) : {}),
    ...(plan.hdrKept ? { hdr: plan.hdrKept.transfer } : {}),
    frames:
      plan.frames !== undefined
        ? { done: Math.round(framesDone), total: parts.flat().reduce((sum, p) => sum + p.frames, 0) }
        : null,
    // Every audio rendition as one: failed if one failed, done when all are.
    audio: audioIds.length > 0 ? rungState(states.slice(states.length - audioIds.length)) : 'none',
  };
}

/** A rung's state from its children's: failed if one failed, done when all are, running if one is. */
function rungState(states: readonly ChildState[]): ChildState {
  if (states.includes('failed')) return 'failed';
  if (states.every((s) => s === 'done')) return 'done';
  return states.some((s) => s === 'running' || s === 'done') ? 'running' : 'queued';
}

/** Stages a child passes after its encode: its frames are all done. */
const ENCODED = new Set(['upload', 'quality', 'done']);

/** Percent of its frames each running child has encoded, from the progress its worker reports. */
async function runningProgress(queue: Queue<JobData>, ids: string[]): Promise<Map<string, number>> {
  const percents = new Map<string, number>();
  const jobs = await Promise.all(ids.map((id) => queue.getJob(id)));
  for (const job of jobs) {
    if (!job || !isJobProgress(job.progress)) continue;
    const { stage, percent } = job.progress;
    percents.set(job.id!, stage === 'ffmpeg' ? percent : ENCODED.has(stage) ? 100 : 0);
  }
  return percents;
}

/** What the view says of an HDR source's tone mapping: its transfer, and the peak rolled off from. */
function toneMapping(hdr: HdrColour) {
  return { toneMappedFrom: hdr.transfer, toneMapPeakNits: toneMapPeakNits(hdr) };
}
