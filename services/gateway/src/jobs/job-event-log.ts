import type { JobState, RedisClient } from '@ffleet/core';
import type { JobState as BullState } from 'bullmq';
import { stateOf } from './view.ts';

/** The stream events that move a job into a BullMQ state, named as that state. */
const STATE_EVENTS = new Set<string>([
  'waiting',
  'delayed',
  'active',
  'waiting-children',
  'completed',
  'failed',
]);

/** An id of a Redis stream entry (`<ms>-<seq>`), as SSE clients send it back in `Last-Event-ID`. */
export const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

/** A job's state change read from its queue's event stream; `id` is the entry's. */
export interface StateChange {
  id: string;
  state: JobState;
  at: string;
}

const PAGE = 500;

/**
 * A pool's BullMQ event stream (kept in Redis, trimmed to BullMQ's ~10 000 latest events)
 * read as one job's log of state changes. Its entry ids outlive any gateway, so a client
 * that reconnects with the last id it saw gets exactly what came after it.
 */
export class JobEventLog {
  readonly #redis: RedisClient;
  readonly #stream: string;
  readonly #jobId: string;

  constructor(redis: RedisClient, stream: string, jobId: string) {
    this.#redis = redis;
    this.#stream = stream;
    this.#jobId = jobId;
  }

  /** The stream's newest entry id (`0-0` when it is empty): where a new client starts. */
  async head(): Promise<string> {
    const [last] = await this.#redis.xrevrange(this.#stream, '+', '-', 'COUNT', 1);
    return last?.[0] ?? '0-0';
  }

  /** The job's state changes after entry `after`, and the id the stream was read up to. */
  async since(after: string): Promise<{ changes: StateChange[]; last: string }> {
    const changes: StateChange[] = [];
    let last = after;
    for (;;) {
      const entries = await this.#redis.xrange(this.#stream, `(${last}`, '+', 'COUNT', PAGE);
      for (const [id, fields] of entries) {
        last = id;
        const state = this.#stateOf(fields);
        if (state) changes.push({ id, state, at: new Date(Number(id.split('-')[0])).toISOString() });
      }
      if (entries.length < PAGE) return { changes, last };
    }
  }

  /** The state an entry puts the job in, if it is about the job and changes its state. */
  #stateOf(fields: string[]): JobState | undefined {
    const field = (name: string) => {
      for (let i = 0; i < fields.length - 1; i += 2) if (fields[i] === name) return fields[i + 1];
      return undefined;
    };
    if (field('jobId') !== this.#jobId) return undefined;
    const event = field('event') ?? '';
    // A job leaves its queue early only when cancelled while queued.
    if (event === 'removed') return 'cancelled';
    return STATE_EVENTS.has(event) ? stateOf(event as BullState, field('failedReason')) : undefined;
  }
}
