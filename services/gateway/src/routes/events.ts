import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBodySchema, FfleetError, isFinishedState, type JobState, type JobView } from '@ffleet/core';
import { Type } from '@sinclair/typebox';
import { checkOwner } from '../caller.ts';
import { JobEventLog, STREAM_ID } from '../jobs/job-event-log.ts';
import { JobIdParams } from '../schemas.ts';

const RELEVANT = [
  'active',
  'waiting-children',
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
 * `GET /v1/jobs/:id/events`: Server-Sent Events: `event: state` for each state change, in
 * order, and `event: job` with the job's view each time it changes, ending after the job
 * finishes. Every event's `id` is a position in the pool's event stream in Redis, so a client
 * that reconnects with `Last-Event-ID` (to this gateway or another) first gets the state
 * changes it missed, none twice.
 */
export const eventRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/v1/jobs/:id/events',
    {
      schema: {
        operationId: 'streamJobEvents',
        summary: 'Job updates as Server-Sent Events',
        description:
          'An `event: state` (`{state, at}`) for each state change and an `event: job` whose data is the ' +
          "job's view (as `GET /v1/jobs/{id}`) at each change; the stream closes after the job finishes. " +
          'Reconnecting with `Last-Event-ID` replays the state changes made since that event.',
        tags: ['jobs'],
        params: JobIdParams,
        headers: Type.Object({
          'last-event-id': Type.Optional(
            Type.String({ pattern: STREAM_ID.source, description: 'The id of the last event received' }),
          ),
        }),
        response: {
          200: {
            description: 'The event stream',
            content: { 'text/event-stream': { schema: Type.String() } },
          },
          400: ErrorBodySchema,
          404: ErrorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const resumeFrom = request.headers['last-event-id'];
      const first = await app.queues.view(id);
      if (!first) throw new FfleetError('not_found', `job ${id} does not exist`, 404);
      checkOwner(request, first);
      const log = new JobEventLog(app.redis, app.queues.queue(first.pool).toKey('events'), id);
      // Where this client is in the stream. A new client starts at its head, knowing the state
      // its first view shows; a returning one where it left off, replaying what came since.
      let cursor = resumeFrom ?? (await log.head());
      let lastState: JobState | undefined = resumeFrom ? undefined : first.state;

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
        res.write(`event: job\nid: ${cursor}\ndata: ${data}\n\n`);
      };
      /** The state changes since the cursor, then the view, unless it did not change. */
      const catchUp = async () => {
        const { changes, last } = await log.since(cursor);
        for (const change of changes) {
          if (change.state === lastState) continue;
          lastState = change.state;
          res.write(
            `event: state\nid: ${change.id}\ndata: ${JSON.stringify({ state: change.state, at: change.at })}\n\n`,
          );
        }
        cursor = last;
        const view = await app.queues.view(id);
        if (view && !res.writableEnded) send(view);
        return view;
      };
      // A new client sees the job at once; a returning one after its missed changes (below).
      if (!resumeFrom) {
        send(first);
        if (isFinishedState(first.state)) return void res.end();
      }

      const events = app.poolEvents.get(first.pool);
      // A chunked encode changes with its children's events too (`<id>-c3`, `<id>-a`). Events
      // that arrive while catching up are folded into one more round.
      const children = `${id}-`;
      let reading = false;
      let again = false;
      const read = async () => {
        reading = true;
        do {
          again = false;
          const view = await catchUp().catch(() => undefined);
          if (!view || res.writableEnded) break;
          if (isFinishedState(view.state)) close();
        } while (again);
        reading = false;
      };
      const onEvent = (event: { jobId: string }) => {
        if (event.jobId !== id && !event.jobId.startsWith(children)) return;
        if (reading) again = true;
        else void read();
      };
      // The keep-alive also catches up: an event that fell between reading the job and the
      // event stream starting is never late by more than one interval.
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
      await events.waitUntilReady();
      onEvent({ jobId: id });
    },
  );
};
