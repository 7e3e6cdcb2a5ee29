import type { BatchState, JobFailure } from '@ffleet/core';

/**
 * What a batch's parent reads of its items when they have all finished (BullMQ behind it: see
 * fleet/bullmq-batch.ts), by item index. The parent's own records are read, not the items' jobs,
 * so an item's job that is gone (removed on cancel) still counts.
 */
export interface BatchRecords {
  /** Items that succeeded, with their jobs' return values. */
  succeeded(): Promise<Map<number, unknown>>;
  /** Items that failed for good (or were cancelled while running), with BullMQ's reason. */
  failed(): Promise<Map<number, string>>;
  /** The failure an item's worker logged (code, message), if it can still be read. */
  failureOf(index: number): Promise<JobFailure | undefined>;
  /** Whether the user cancelled the batch. */
  cancelled(): Promise<boolean>;
  /** Stores the batch's state (its final counts). */
  saveState(state: BatchState): Promise<void>;
}
