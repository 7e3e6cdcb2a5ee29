import { closeConnection, openRedis, type RedisClient, type RedisTarget } from '@ffleet/core';
import { QueueEvents } from 'bullmq';

/**
 * BullMQ's event stream of each pool's queue, opened on first use and shared by every
 * Server-Sent Events client of that pool.
 */
export class PoolEvents {
  readonly #open = new Map<string, { events: QueueEvents; connection: RedisClient }>();
  readonly #redis: RedisTarget;
  readonly #prefix: string;
  readonly #queueOf: (pool: string) => string;

  /** `queueOf` names a pool's queue. */
  constructor(redis: RedisTarget, prefix: string, queueOf: (pool: string) => string) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#queueOf = queueOf;
  }

  get(pool: string): QueueEvents {
    let entry = this.#open.get(pool);
    if (!entry) {
      // Its own connection from the same URL as the rest of the gateway (TLS, user,
      // database and all): reading the event stream blocks it.
      const connection = openRedis(this.#redis, { maxRetriesPerRequest: null });
      const events = new QueueEvents(this.#queueOf(pool), { prefix: this.#prefix, connection });
      events.setMaxListeners(0);
      entry = { events, connection };
      this.#open.set(pool, entry);
    }
    return entry.events;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#open.values()].map((e) => e.events.close()));
    await Promise.all([...this.#open.values()].map((e) => closeConnection(e.connection)));
    this.#open.clear();
  }
}
