/**
 * What a pipeline keeps in BullMQ: a parent job's state between its steps, and a child job's
 * role in its parent. Both cross Redis, so both have a schema.
 */
import { type Static, Type } from '@sinclair/typebox';
import { LadderPlanSchema } from './ladder-commands.ts';
import { DroppedRungSchema } from './ladder-rungs.ts';
import { PreviewsPlanSchema } from './previews-plan.ts';
import { SplitPlanSchema } from './split-commands.ts';

/** A chunked encode's parent: plans and splits (`plan`), then joins once its children finish (`join`). */
export const SplitStateSchema = Type.Object({
  kind: Type.Literal('split'),
  step: Type.Union([Type.Literal('plan'), Type.Literal('join')]),
  plan: Type.Optional(SplitPlanSchema),
  /** Milliseconds of the plan step, per stage, reported with the join's. */
  planTimings: Type.Optional(Type.Record(Type.String(), Type.Number())),
  /** When the plan step ended (epoch ms): the children's time runs from here to the join. */
  planFinishedAt: Type.Optional(Type.Number()),
});
export type SplitState = Static<typeof SplitStateSchema>;

/** Items of a batch in each state. */
export const BatchCountsSchema = Type.Object(
  {
    total: Type.Integer({ minimum: 0 }),
    queued: Type.Integer({ minimum: 0 }),
    running: Type.Integer({ minimum: 0 }),
    succeeded: Type.Integer({ minimum: 0 }),
    failed: Type.Integer({ minimum: 0 }),
    cancelled: Type.Integer({ minimum: 0 }),
  },
  { description: "A batch's items in each state" },
);
export type BatchCounts = Static<typeof BatchCountsSchema>;

/**
 * A batch's parent: it waits while its items run, then writes the manifest. The inputs are kept
 * here, by item index, so the manifest names every item, also one whose job is gone.
 */
export const BatchStateSchema = Type.Object({
  kind: Type.Literal('batch'),
  inputs: Type.Array(Type.String()),
  manifest: Type.Object({ json: Type.String(), csv: Type.String() }),
  /** The items' final counts, written with the manifest. */
  counts: Type.Optional(BatchCountsSchema),
});
export type BatchState = Static<typeof BatchStateSchema>;

/** A ladder's parent: plans and queues its rungs (`plan`), then packages and publishes them (`package`). */
export const LadderStateSchema = Type.Object({
  kind: Type.Literal('ladder'),
  step: Type.Union([Type.Literal('plan'), Type.Literal('package')]),
  plan: Type.Optional(LadderPlanSchema),
  planTimings: Type.Optional(Type.Record(Type.String(), Type.Number())),
  planFinishedAt: Type.Optional(Type.Number()),
});
export type LadderState = Static<typeof LadderStateSchema>;

/** A previews parent: makes the pictures and queues sheets and snippets (`plan`), then writes the track and manifest (`manifest`). */
export const PreviewsStateSchema = Type.Object({
  kind: Type.Literal('previews'),
  step: Type.Union([Type.Literal('plan'), Type.Literal('manifest')]),
  plan: Type.Optional(PreviewsPlanSchema),
  planTimings: Type.Optional(Type.Record(Type.String(), Type.Number())),
  planFinishedAt: Type.Optional(Type.Number()),
});
export type PreviewsState = Static<typeof PreviewsStateSchema>;

export const PipelineStateSchema = Type.Union([
  SplitStateSchema,
  BatchStateSchema,
  LadderStateSchema,
  PreviewsStateSchema,
]);
export type PipelineState = Static<typeof PipelineStateSchema>;

/** What a child job is to its parent. */
export const ChildRoleSchema = Type.Object({
  kind: Type.Union([
    Type.Literal('chunk'),
    Type.Literal('audio'),
    Type.Literal('item'),
    Type.Literal('gate'),
    Type.Literal('rung'),
    Type.Literal('sheet'),
    Type.Literal('snippet'),
  ]),
  parentId: Type.String(),
  /** A ladder's rung: its name (`720p-3000k`). */
  rung: Type.Optional(Type.String()),
  /** A chunk's, a sprite sheet's or a snippet's number. */
  index: Type.Optional(Type.Integer({ minimum: 0 })),
  /** Frames the encode must write (checked on the worker), when the job keeps the frame rate. */
  frames: Type.Optional(Type.Integer({ minimum: 0 })),
  /** Seconds of source the child covers. */
  durationSeconds: Type.Optional(Type.Number({ minimum: 0 })),
});
export type ChildRole = Static<typeof ChildRoleSchema>;

const ChildStateSchema = Type.Union([
  Type.Literal('queued'),
  Type.Literal('running'),
  Type.Literal('done'),
  Type.Literal('failed'),
]);

const ChildCountsSchema = Type.Object({
  total: Type.Integer(),
  done: Type.Integer(),
  running: Type.Integer(),
  failed: Type.Integer(),
});

/** The transfer of an HDR source whose pictures were tone-mapped to SDR BT.709. */
const ToneMappedFromSchema = Type.Union([Type.Literal('pq'), Type.Literal('hlg')], {
  description: 'The source is HDR (PQ or HLG): its pictures were tone-mapped to SDR BT.709',
});
const ToneMapPeakNitsSchema = Type.Integer({
  description:
    "The HDR source's brightest light in cd/m², which tone mapping brought down to SDR white: from its HDR10 metadata (MaxCLL, else the mastering display's peak), else 1000",
});

/** A ladder as the job view shows it: the rungs kept with their state, and why others went. */
export const LadderViewSchema = Type.Object(
  {
    kind: Type.Literal('ladder'),
    step: Type.Union([Type.Literal('plan'), Type.Literal('package')]),
    rungs: Type.Union([
      Type.Array(
        Type.Object({
          name: Type.String(),
          width: Type.Integer(),
          height: Type.Integer(),
          bitrateKbps: Type.Integer(),
          /** Frames a second: the source's, or what is left when only every n-th frame is kept. */
          frameRate: Type.Optional(
            Type.Number({ description: "Frames a second: the source's, or one of every few of its frames" }),
          ),
          state: ChildStateSchema,
          percent: Type.Number(),
          /** A chunked rung's chunks encoded of its total. */
          chunks: Type.Optional(Type.Object({ done: Type.Integer(), total: Type.Integer() })),
        }),
      ),
      Type.Null(),
    ]),
    dropped: Type.Array(DroppedRungSchema),
    note: Type.Optional(Type.String()),
    /** Every rung's chunks together, or null when each rung is encoded whole. */
    chunks: Type.Optional(Type.Union([ChildCountsSchema, Type.Null()])),
    /** Why a source long enough to be chunked has its rungs encoded whole. */
    chunkNote: Type.Optional(Type.String()),
    /** Why some of the source's audio streams have no rendition. */
    audioNote: Type.Optional(Type.String()),
    subtitles: Type.Optional(
      Type.Array(
        Type.Object({
          language: Type.Optional(Type.String()),
          forced: Type.Optional(Type.Boolean()),
          hearingImpaired: Type.Optional(Type.Boolean()),
        }),
        {
          description:
            "The source's text subtitle streams, each a WebVTT rendition (HLS SUBTITLES, a DASH text set): language, forced, for the deaf and hard of hearing",
        },
      ),
    ),
    /** Why some of the source's subtitle streams have no rendition: which stream (`0:<index>`) and why. */
    subtitleNote: Type.Optional(Type.String()),
    toneMappedFrom: Type.Optional(ToneMappedFromSchema),
    toneMapPeakNits: Type.Optional(ToneMapPeakNitsSchema),
    hdr: Type.Optional(
      Type.Union([Type.Literal('pq'), Type.Literal('hlg')], {
        description:
          'The source is HDR (PQ or HLG) and the rungs keep it: every rung (ladder.hdr "keep"), or the ones named `-hdr` beside SDR ones tone-mapped from it ("both"); 10-bit HDR',
      }),
    ),
    /** Frames encoded of every rung's frames together. */
    frames: Type.Optional(
      Type.Union([Type.Object({ done: Type.Number(), total: Type.Integer() }), Type.Null()]),
    ),
    audio: Type.Union([Type.Literal('none'), ChildStateSchema]),
  },
  {
    description:
      'An ABR ladder: each rung kept and its state, the rungs dropped and why, chunks and frames encoded, the audio',
  },
);
export type LadderView = Static<typeof LadderViewSchema>;

/** Previews as the job view shows them: the sprite sheets and snippets made of their totals. */
export const PreviewsViewSchema = Type.Object(
  {
    kind: Type.Literal('previews'),
    step: Type.Union([Type.Literal('plan'), Type.Literal('manifest')]),
    pictures: Type.Union([Type.Integer(), Type.Null()]),
    sheets: Type.Union([ChildCountsSchema, Type.Null()]),
    snippets: Type.Union([ChildCountsSchema, Type.Null()]),
    toneMappedFrom: Type.Optional(ToneMappedFromSchema),
    toneMapPeakNits: Type.Optional(ToneMapPeakNitsSchema),
  },
  {
    description:
      'Previews: the still pictures made by the plan step, sprite sheets and snippets done, running and failed',
  },
);
export type PreviewsView = Static<typeof PreviewsViewSchema>;

/** A chunked encode as the job view shows it. */
export const SplitViewSchema = Type.Object(
  {
    kind: Type.Literal('split'),
    step: Type.Union([Type.Literal('plan'), Type.Literal('join')]),
    chunks: Type.Union([
      Type.Object({
        total: Type.Integer(),
        done: Type.Integer(),
        running: Type.Integer(),
        failed: Type.Integer(),
      }),
      Type.Null(),
    ]),
    frames: Type.Union([Type.Object({ done: Type.Number(), total: Type.Integer() }), Type.Null()]),
    audio: Type.Union([
      Type.Literal('none'),
      Type.Literal('queued'),
      Type.Literal('running'),
      Type.Literal('done'),
      Type.Literal('failed'),
    ]),
  },
  { description: 'A chunked encode: chunks encoded, running and failed, frames done of total' },
);
export type SplitView = Static<typeof SplitViewSchema>;

/** A pipeline as the job view shows it. */
export const PipelineViewSchema = Type.Union([SplitViewSchema, LadderViewSchema, PreviewsViewSchema]);
export type PipelineView = Static<typeof PipelineViewSchema>;

/**
 * A chunked encode's children's job ids: deterministic, so a plan step run again adds nothing
 * twice and a view finds them without a listing. Never a colon (BullMQ's keys end in the id).
 */
export const splitChildId = {
  chunk: (parentId: string, index: number) => `${parentId}-c${index}`,
  audio: (parentId: string) => `${parentId}-a`,
  /** The chunk index of a child's id or Redis key, or undefined for anything else (the audio). */
  indexOf(parentId: string, idOrKey: string): number | undefined {
    const id = idOrKey.slice(idOrKey.lastIndexOf(':') + 1);
    const match = /^(.*)-c(\d{1,6})$/.exec(id);
    return match && match[1] === parentId ? Number(match[2]) : undefined;
  },
};

/**
 * A batch's children's job ids: item `i` is `<batch>-i<i>`; the gate (see docs/batches.md) holds
 * the parent back while the items are being added.
 */
export const batchChildId = {
  item: (batchId: string, index: number) => `${batchId}-i${index}`,
  gate: (batchId: string) => `${batchId}-gate`,
  /** The item index of a child's id or Redis key, or undefined for anything else (the gate). */
  indexOf(batchId: string, idOrKey: string): number | undefined {
    const id = idOrKey.slice(idOrKey.lastIndexOf(':') + 1);
    const match = /^(.*)-i(\d{1,5})$/.exec(id);
    return match && match[1] === batchId ? Number(match[2]) : undefined;
  },
};

/** A chunked encode's chunk counts from a job's pipeline view (null for other pipelines or before the plan). */
export function splitChunks(pipeline: PipelineView | undefined): SplitView['chunks'] {
  return pipeline?.kind === 'split' ? pipeline.chunks : null;
}
