/**
 * Where a video is cut for a chunked encode: at the source's clean keyframes nearest to each
 * multiple of the segment length, never leaving a chunk shorter than half a segment. Each
 * chunk knows its exact time range and frame count, so an encode can be checked frame for
 * frame and the join can place every chunk at its planned time.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { VideoTrack } from './media-analysis.ts';

export const ChunkSchema = Type.Object({
  index: Type.Integer({ minimum: 0, description: 'Position in the video, from 0' }),
  startSeconds: Type.Number({ description: 'Source time of its first frame' }),
  endSeconds: Type.Number({ description: 'Source time just after its last frame' }),
  frames: Type.Integer({ minimum: 0 }),
});
/** A piece of the video: the frames with start ≤ t < end on the source's timeline. */
export type Chunk = Static<typeof ChunkSchema>;

export function planChunks(video: VideoTrack, segmentSeconds: number): Chunk[] {
  if (!(segmentSeconds > 0)) throw new RangeError('segmentSeconds must be positive');
  const start = video.startSeconds;
  const end = video.endSeconds;
  const shortest = segmentSeconds / 2;
  const boundaries = [start];
  for (let k = 1; start + k * segmentSeconds < end - shortest; k++) {
    const target = start + k * segmentSeconds;
    const last = boundaries.at(-1)!;
    if (target <= last) continue;
    const next = nearest(
      video.keyframes.filter((t) => t >= last + shortest && t <= end - shortest),
      target,
    );
    if (next === undefined) break;
    boundaries.push(next);
  }
  boundaries.push(end);
  return boundaries.slice(0, -1).map((from, index) => {
    const to = boundaries[index + 1]!;
    return {
      index,
      startSeconds: from,
      endSeconds: to,
      frames: lowerBound(video.frameTimes, to) - lowerBound(video.frameTimes, from),
    };
  });
}

/** The order to queue chunks in: longest first, so the last to finish is a short one. */
export function longestFirst(chunks: readonly Chunk[]): Chunk[] {
  return [...chunks].sort(
    (a, b) => b.endSeconds - b.startSeconds - (a.endSeconds - a.startSeconds) || a.index - b.index,
  );
}

/**
 * Keyframe times for one chunk of an encode whose keyframes fall every `gopSeconds` of the
 * source's timeline (counted from `origin`), relative to the chunk's start: the chunk's
 * first frame and every multiple inside it. Every rung of a ladder, chunked or not, then has
 * its keyframes at the same source times.
 */
export function chunkKeyframeTimes(chunk: Chunk, gopSeconds: number, origin: number): number[] {
  const times = [0];
  const first = Math.ceil((chunk.startSeconds - origin) / gopSeconds - 1e-9);
  for (let k = first; origin + k * gopSeconds < chunk.endSeconds - 1e-9; k++) {
    const at = origin + k * gopSeconds - chunk.startSeconds;
    if (at > 1e-6) times.push(round6(at));
  }
  return times;
}

/**
 * The source's clean keyframes that sit on a grid of one keyframe every `gopSeconds` from
 * `origin`: those that are the first frame at or after a multiple. An encode that forces its
 * keyframes on that grid (see chunkKeyframeTimes) starts a GOP at each of them, so chunks cut
 * there need no keyframe of their own.
 */
export function gridKeyframes(video: VideoTrack, gopSeconds: number, origin: number): number[] {
  const found: number[] = [];
  for (let k = 1; origin + k * gopSeconds < video.endSeconds - 1e-9; k++) {
    const at = video.frameTimes[lowerBound(video.frameTimes, origin + k * gopSeconds)];
    if (at === undefined) break;
    const i = lowerBound(video.keyframes, at);
    if (i < video.keyframes.length && Math.abs(video.keyframes[i]! - at) < 1e-9) found.push(at);
  }
  return found;
}

function nearest(values: readonly number[], target: number): number | undefined {
  let best: number | undefined;
  for (const v of values) if (best === undefined || Math.abs(v - target) < Math.abs(best - target)) best = v;
  return best;
}

/** Index of the first value ≥ x in an ascending array (values within 1e-9 below x count as x). */
export function lowerBound(values: readonly number[], x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (values[mid]! < x - 1e-9) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;
