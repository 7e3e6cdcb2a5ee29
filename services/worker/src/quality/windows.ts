import { lowerBound } from '@ffleet/core';

/**
 * Where the sampled measurement looks: a few short windows of consecutive output frames,
 * spread evenly over the video. Each window is decoded on its own from the keyframe before it
 * (accurate seeking on both files), so the cost follows the windows, not the length of the
 * video; frames inside a window are all compared, so every position of a GOP and of a B-frame
 * pattern is seen, not just keyframes.
 *
 * Windows sit in the middle of equal parts of the video, wherever that falls in a GOP. Starting
 * them just after a keyframe would decode less, but frames early in a GOP score higher (on a
 * 24 s x264 clip, windows after keyframes read 0.57 dB above the full measurement; windows in
 * the middle of each part, 0.12 dB): the decoding from the keyframe before a window is the
 * price of not favouring one part of the GOP.
 */

/** Seconds of consecutive frames in one window. */
export const WINDOW_SECONDS = 1;
/** One window for every this many seconds of video… */
export const WINDOW_SPACING_SECONDS = 10;
/** …and never fewer windows than this. */
export const MIN_WINDOWS = 3;
/**
 * Windows that would cover more than this share of the video save little: each also decodes
 * from the keyframe before it, so decoding the video whole costs about the same. Such videos
 * are sampled whole, every n-th frame.
 */
export const MAX_WINDOW_SHARE = 1 / 4;

export interface QualityWindow {
  /** Seconds from the output's first frame to halfway between the window's first frame and the one before. */
  start: number;
  /** Seconds from `start` to halfway between the window's last frame and the one after. */
  duration: number;
  /** The output's number (from 1) of the window's first frame. */
  firstFrame: number;
  /** Output frames in the window: all of them are compared. */
  frames: number;
}

/**
 * The windows for an output whose frames are shown at `frameTimes` (seconds from its first
 * frame, in order), compared with a reference of `referenceSeconds`; undefined when the video
 * is too short for windows to pay (see MAX_WINDOW_SHARE) or the reference's length is unknown.
 * The video is cut into as many equal parts as windows, one window in the middle of each.
 * Window edges fall halfway between two frames, so no
 * frame sits on an edge that rounding could move; the comparison ends with the shorter video,
 * so windows stay inside both.
 */
export function planWindows(
  frameTimes: readonly number[],
  referenceSeconds: number | undefined,
): QualityWindow[] | undefined {
  const last = frameTimes.length - 1;
  if (referenceSeconds === undefined || last < 1) return undefined;
  const outputSeconds = frameTimes[last]! + (frameTimes[last]! - frameTimes[last - 1]!);
  const span = Math.min(outputSeconds, referenceSeconds);
  const count = Math.max(MIN_WINDOWS, Math.floor(span / WINDOW_SPACING_SECONDS));
  if (count * WINDOW_SECONDS > span * MAX_WINDOW_SHARE) return undefined;

  const between = (i: number) => (frameTimes[i - 1]! + frameTimes[i]!) / 2;
  const windows: QualityWindow[] = [];
  for (let w = 0; w < count; w++) {
    // Centred in the w-th of `count` equal parts of the video.
    const from = (span * (w + 0.5)) / count - WINDOW_SECONDS / 2;
    const first = lowerBound(frameTimes, from);
    const after = lowerBound(frameTimes, from + WINDOW_SECONDS);
    if (first < 1 || after > last || after <= first) return undefined;
    const start = between(first);
    windows.push({ start, duration: between(after) - start, firstFrame: first + 1, frames: after - first });
  }
  return windows;
}
