/**
 * A batch as the API shows it: the batch (state, counts, manifest) and its items, page by page.
 * The gateway builds both from the batch parent's BullMQ records; the rule that turns those
 * records into an item's state is here, shared with the worker that writes the manifest.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { CANCELLED_REASON } from '../jobs/record.ts';
import { JobStateSchema } from '../jobs/state.ts';
import type { BatchItemState } from './batch.ts';
import { type BatchCounts, BatchCountsSchema } from './state.ts';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const BatchItemStateSchema = Type.Union(
  [
    Type.Literal('queued'),
    Type.Literal('running'),
    Type.Literal('succeeded'),
    Type.Literal('failed'),
    Type.Literal('cancelled'),
  ],
  { description: "An item's state" },
);

const ItemErrorSchema = Type.Object({ code: Type.String(), message: Type.String() });

export const BatchLinksSchema = Type.Object({
  self: Type.String(),
  items: Type.String({ description: 'The first page of items' }),
  job: Type.String({ description: "The batch's own job (GET, DELETE and events work on it too)" }),
  trace: Type.Optional(Type.String()),
});

export const BatchViewSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    pool: Type.String(),
    state: Type.Union([JobStateSchema], {
      description:
        '`running` while items are queued or running; `succeeded` once every item finished and the manifest ' +
        'is written (some items may have failed: see counts); `cancelled`; `failed` if the manifest could not be written',
    }),
    counts: BatchCountsSchema,
    createdAt: Type.String(),
    finishedAt: Nullable(Type.String()),
    manifest: Nullable(
      Type.Object(
        { json: Type.String(), csv: Type.String() },
        { description: 'Where the manifest was written, once the batch finished' },
      ),
    ),
    error: Nullable(ItemErrorSchema),
    traceId: Nullable(Type.String()),
    links: BatchLinksSchema,
  },
  { description: 'A batch: one job template over many inputs' },
);
export type BatchView = Static<typeof BatchViewSchema>;

export const BatchItemViewSchema = Type.Object({
  index: Type.Integer({ minimum: 0 }),
  input: Type.String(),
  jobId: Type.String({ description: "The item's job (GET /v1/jobs/:id shows it in full)" }),
  state: BatchItemStateSchema,
  error: Nullable(ItemErrorSchema),
});
export type BatchItemView = Static<typeof BatchItemViewSchema>;

export const BatchItemsPageSchema = Type.Object({
  items: Type.Array(BatchItemViewSchema),
  nextCursor: Nullable(Type.String({ description: 'Pass as `cursor` for the next page; null on the last' })),
});
export type BatchItemsPage = Static<typeof BatchItemsPageSchema>;

export const BatchAcceptedSchema = Type.Object(
  {
    id: Type.String(),
    state: JobStateSchema,
    pool: Type.String(),
    items: Type.Integer({ minimum: 1, description: 'Items queued, one job each' }),
    links: BatchLinksSchema,
    traceId: Type.Optional(Type.String()),
  },
  { description: 'A batch accepted: its items are queued' },
);
export type BatchAccepted = Static<typeof BatchAcceptedSchema>;

/**
 * What is known of one item: whether its job succeeded (the parent's record of finished
 * children), failed for good with a reason, is running, or none of these.
 */
export interface ItemFacts {
  succeeded: boolean;
  failedReason?: string;
  running: boolean;
}

/**
 * An item's state. An item neither finished nor running is queued, or cancelled once the batch
 * is cancelled (its job was removed, or is stopped before it starts). Once the batch has ended,
 * such an item was never queued: failed, with NOT_QUEUED.
 */
export function batchItemState(
  facts: ItemFacts,
  batchCancelled: boolean,
  batchEnded = false,
): BatchItemState {
  if (facts.succeeded) return 'succeeded';
  if (facts.failedReason !== undefined)
    return facts.failedReason.startsWith(CANCELLED_REASON) ? 'cancelled' : 'failed';
  if (facts.running) return 'running';
  if (batchCancelled) return 'cancelled';
  return batchEnded ? 'failed' : 'queued';
}

/** The error of an item a batch never queued: the gateway adding the items stopped before it. */
export const NOT_QUEUED = {
  code: 'not_queued',
  message: 'the item was never queued: the batch was cut short while its items were added',
};

export function countBatchItems(states: Iterable<BatchItemState>, total: number): BatchCounts {
  const counts: BatchCounts = { total, queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
  for (const state of states) counts[state]++;
  return counts;
}
