import { FfleetError, isFinishedState } from '@ffleet/core';
import { QueueEvents } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { FleetQueues } from '../jobs/fleet-queues.ts';
import type { JobView } from '../jobs/view.ts';
import { JobIdParams } from '../schemas.ts';

export interface EventRoutesOptions {
  queues: FleetQueues;
  /** Opens BullMQ's event stream of one pool (one shared connection per pool). */
  queueEvents: (pool: string) => QueueEvents;
}

const RELEVANT = [
  'active',
  'progress',
  'completed',
  'failed',
  'waiting',
  'delayed',
  'removed',
  'retries-exhausted',
] as const;
const HEARTBEAT_MS = 5000;

/**
 * `GET /v1/jobs/:id/events`: Server-Sent Events with the job's view each time it changes
 * (`event: job`), ending after the job finishes.
 */
export async function eventRoutes(app: FastifyInstance, opts: EventRoutesOptions): Promise<void> {
  app.get(
    '/v1/jobs/:id/events',
    { schema: { summary: 'Job updates as Server-Sent Events', tags: ['jobs'], params: JobIdParams } },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const first = await opts.queues.view(id);
      if (!first) throw new FfleetError('not_found', `job ${id} does not exist`, 404);

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
      });
      let lastSent = '';
      const send = (view: JobView) => {
        const data = JSON.stringify(view);
        if (data === lastSent) return;
        lastSent = data;
        res.write(`event: job\ndata: ${data}\n\n`);
      };
      send(first);
      if (isFinishedState(first.state)) return void res.end();

      const events = opts.queueEvents(first.pool);
      let pending = Promise.resolve();
      const onEvent = (event: { jobId: string }) => {
        if (event.jobId !== id) return;
        pending = pending.then(async () => {
          const view = await opts.queues.view(id);
          if (!view || res.writableEnded) return;
          send(view);
          if (isFinishedState(view.state)) close();
        });
      };
      // The keep-alive also looks at the job again: an event that fell between reading the job
      // and the event stream starting is never lost for longer than one interval.
      const heartbeat = setInterval(() => {
        res.write(': keep-alive\n\n');
        onEvent({ jobId: id });
      }, HEARTBEAT_MS);
      const close = () => {
        clearInterval(heartbeat);
        for (const name of RELEVANT) events.off(name, onEvent);
        if (!res.writableEnded) res.end();
      };
      for (const name of RELEVANT) events.on(name, onEvent);
      request.raw.on('close', close);
      // The job may have finished between the first read and subscribing.
      await events.waitUntilReady();
      onEvent({ jobId: id });
    },
  );
}

export function queueEventsFactory(connectionUrl: string, prefix: string, queueOf: (pool: string) => string) {
  const open = new Map<string, { events: QueueEvents; connection: Redis }>();
  return {
    get(pool: string): QueueEvents {
      let entry = open.get(pool);
      if (!entry) {
        // Its own connection from the same URL as the rest of the gateway (TLS, user,
        // database and all): reading the event stream blocks it.
        const connection = new Redis(connectionUrl, { maxRetriesPerRequest: null });
        const events = new QueueEvents(queueOf(pool), { prefix, connection });
        events.setMaxListeners(0);
        entry = { events, connection };
        open.set(pool, entry);
      }
      return entry.events;
    },
    async close() {
      await Promise.all([...open.values()].map((e) => e.events.close()));
      for (const { connection } of open.values()) connection.disconnect();
    },
  };
}
