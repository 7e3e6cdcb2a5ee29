/**
 * Which rungs of a ladder a source gets: never one above the source. A rung taller than the
 * source, or with a bitrate above the source video's, would spend bits on nothing a viewer
 * can see; it is dropped, and the job view says why. Every rung keeps the aspect ratio the
 * source is shown at, in square pixels (an anamorphic source's rungs are not), with even
 * dimensions (what 4:2:0 encoders need).
 */
import { type Static, Type } from '@sinclair/typebox';
import type { Rung } from './ladder-spec.ts';
import { displaySize } from './media-analysis.ts';

export const PlannedRungSchema = Type.Object({
  /** Deterministic and path-safe (`720p-3000k`): the rung's folder, child id and playlist name. */
  name: Type.String({ pattern: '^[0-9]+p-[0-9]+k$' }),
  width: Type.Integer({ minimum: 2 }),
  height: Type.Integer({ minimum: 2 }),
  bitrateKbps: Type.Integer({ minimum: 1 }),
});
export type PlannedRung = Static<typeof PlannedRungSchema>;

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
    else kept.push(planned(rung.height, rung.bitrateKbps, aspect));
  }
  if (kept.length > 0) return { kept: kept.sort(byBitrate), dropped };
  // Nothing fits: one rung at the source's own size, at the lowest asked bitrate the source can feed.
  const lowest = Math.min(...rungs.map((r) => r.bitrateKbps));
  const bitrate = sourceKbps !== undefined ? Math.max(1, Math.min(lowest, sourceKbps)) : lowest;
  return {
    kept: [planned(even(height), bitrate, aspect)],
    dropped,
    note: `no rung fitted the source (${width}x${height}${sourceKbps ? `, ${sourceKbps} kb/s` : ''}): one rung at its own size`,
  };
}

function planned(height: number, bitrateKbps: number, aspect: number): PlannedRung {
  const h = Math.max(2, even(height));
  return { name: `${h}p-${bitrateKbps}k`, width: Math.max(2, even(h * aspect)), height: h, bitrateKbps };
}

/** The nearest even number (never rounding up past an odd source size). */
function even(x: number): number {
  return 2 * Math.floor(x / 2 + 0.5 - 1e-9);
}

const byBitrate = (a: PlannedRung, b: PlannedRung) => a.bitrateKbps - b.bitrateKbps || a.height - b.height;
