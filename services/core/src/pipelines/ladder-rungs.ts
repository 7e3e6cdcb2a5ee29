/**
 * Which rungs of a ladder a source gets: never one above the source. A rung taller than the
 * source, or with a bitrate above the source video's, would spend bits on nothing a viewer
 * can see; it is dropped, and the job view says why. Every rung keeps the aspect ratio the
 * source is shown at, in square pixels (an anamorphic source's rungs are not), with even
 * dimensions (what 4:2:0 encoders need), and a frame rate Apple's HLS authoring specification
 * allows: never above 60 fps, and at most 30 below 540p where the keyframe grid permits.
 */
import { type Static, Type } from '@sinclair/typebox';
import { LADDER_GOP_SECONDS, type Rung } from './ladder-spec.ts';
import { displaySize } from './media-analysis.ts';

export const PlannedRungSchema = Type.Object({
  /**
   * Deterministic and path-safe (`720p-3000k`, `720p-3000k-hdr` for the HDR twin of a ladder
   * that has both): the rung's folder, child id and playlist name.
   */
  name: Type.String({ pattern: '^[0-9]+p-[0-9]+k(-hdr)?$' }),
  width: Type.Integer({ minimum: 2 }),
  height: Type.Integer({ minimum: 2 }),
  bitrateKbps: Type.Integer({ minimum: 1 }),
  /** The rung keeps one source frame in this many (the first, then every n-th); absent: every frame. */
  frameStep: Type.Optional(Type.Integer({ minimum: 2 })),
  /** The HDR one of a rung made twice (ladder.hdr "both"); its twin without the flag is SDR. */
  hdr: Type.Optional(Type.Literal(true)),
});
export type PlannedRung = Static<typeof PlannedRungSchema>;

/** Each rung again as its HDR twin (ladder.hdr "both"): the same size, rate and frames. */
export function hdrTwins(rungs: readonly PlannedRung[]): PlannedRung[] {
  return rungs.map((rung) => ({ ...rung, name: `${rung.name}-hdr`, hdr: true }));
}

export const DroppedRungSchema = Type.Object({
  height: Type.Integer(),
  bitrateKbps: Type.Integer(),
  reason: Type.String(),
});
export type DroppedRung = Static<typeof DroppedRungSchema>;

export const RungDecisionSchema = Type.Object({
  kept: Type.Array(PlannedRungSchema),
  dropped: Type.Array(DroppedRungSchema),
  /** Set when no asked rung fitted and the one rung is the source's own size. */
  note: Type.Optional(Type.String()),
});
export type RungDecision = Static<typeof RungDecisionSchema>;

/** What the decision needs of the source's video. */
export interface LadderSource {
  width: number;
  height: number;
  /** Display rotation in degrees (a 90° or 270° source is shown portrait). */
  rotation: number;
  /** Width ÷ height of a stored pixel (default 1): rungs have square pixels and the shape the source is shown at. */
  sampleAspectRatio?: number;
  /** Frames a second (as played, for a variable rate); without it every rung keeps every frame. */
  frameRate?: number;
  variableFrameRate?: boolean;
  /** Video bitrate in bits per second, when the source says (else only heights decide). */
  bitRate?: number;
}

/** The rungs kept (lowest bitrate first) and the ones dropped with their reason. */
export function decideRungs(rungs: readonly Rung[], source: LadderSource): RungDecision {
  const { width, height } = displaySize(source);
  const aspect = width / height;
  const sourceKbps = source.bitRate ? Math.round(source.bitRate / 1000) : undefined;
  const kept: PlannedRung[] = [];
  const dropped: DroppedRung[] = [];
  for (const rung of rungs) {
    if (rung.height > height) dropped.push({ ...rung, reason: `taller than the source (${height}p)` });
    else if (sourceKbps !== undefined && rung.bitrateKbps > sourceKbps)
      dropped.push({ ...rung, reason: `above the source's bitrate (${sourceKbps} kb/s)` });
    else kept.push(planned(rung.height, rung.bitrateKbps, aspect, source));
  }
  if (kept.length > 0) return { kept: kept.sort(byBitrate), dropped };
  // Nothing fits: one rung at the source's own size, at the lowest asked bitrate the source can feed.
  const lowest = Math.min(...rungs.map((r) => r.bitrateKbps));
  const bitrate = sourceKbps !== undefined ? Math.max(1, Math.min(lowest, sourceKbps)) : lowest;
  return {
    kept: [planned(even(height), bitrate, aspect, source)],
    dropped,
    note: `no rung fitted the source (${width}x${height}${sourceKbps ? `, ${sourceKbps} kb/s` : ''}): one rung at its own size`,
  };
}

function planned(height: number, bitrateKbps: number, aspect: number, source: LadderSource): PlannedRung {
  const h = Math.max(2, even(height));
  const rung: PlannedRung = {
    name: `${h}p-${bitrateKbps}k`,
    width: Math.max(2, even(h * aspect)),
    height: h,
    bitrateKbps,
  };
  const step = rungFrameStep(h, source);
  if (step > 1) rung.frameStep = step;
  return rung;
}

/** Apple's HLS authoring specification: frame rates above 60 fps shall not be used. */
export const LADDER_MAX_FRAME_RATE = 60;
/** ...and its ladder table runs the rungs below 540p at 30 fps or less. */
export const LOW_RUNG_MAX_FRAME_RATE = 30;
export const LOW_RUNG_BELOW_HEIGHT = 540;

/**
 * One source frame in how many every rung keeps to stay at 60 fps or under: 1 up to 60 fps,
 * else the fewest that bring it there (120 → 60, 100 → 50, 240 → 60).
 */
export function ladderFrameStep(framesPerSecond: number): number {
  return Math.max(1, Math.ceil(framesPerSecond / LADDER_MAX_FRAME_RATE - 1e-3));
}

/**
 * The frame step of a rung this tall. A rung below 540p halves (or more) the rate above 30 fps,
 * only when its frames are then a subset of the taller rungs' and fall on every keyframe of the
 * 2 s grid, so all rungs keep keyframes at the same times: a constant rate with a whole number
 * of frames in 2 s divisible by the step (50 → 25, 60 → 30, 120 → 30; 59.94 stays 59.94).
 */
function rungFrameStep(height: number, source: LadderSource): number {
  const fps = source.frameRate;
  if (!fps) return 1;
  const step = ladderFrameStep(fps);
  if (height >= LOW_RUNG_BELOW_HEIGHT || source.variableFrameRate) return step;
  const low = step * Math.max(1, Math.ceil(fps / step / LOW_RUNG_MAX_FRAME_RATE - 1e-3));
  const framesPerGrid = (LADDER_GOP_SECONDS * fps) / low;
  return Math.abs(framesPerGrid - Math.round(framesPerGrid)) < 1e-6 ? low : step;
}

/** The frame rate of a rung of a source at `sourceFrameRate`. */
export function rungFrameRate(sourceFrameRate: number, rung: Pick<PlannedRung, 'frameStep'>): number {
  return sourceFrameRate / (rung.frameStep ?? 1);
}

/** Frames a rung (or a chunk of one) has of `sourceFrames`: the first, then every `frameStep`-th. */
export function rungFrames(rung: Pick<PlannedRung, 'frameStep'>, sourceFrames: number): number {
  return Math.ceil(sourceFrames / (rung.frameStep ?? 1));
}

/** The nearest even number (never rounding up past an odd source size). */
function even(x: number): number {
  return 2 * Math.floor(x / 2 + 0.5 - 1e-9);
}

const byBitrate = (a: PlannedRung, b: PlannedRung) => a.bitrateKbps - b.bitrateKbps || a.height - b.height;
