import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBodySchema, FfleetError, isFinishedState, type JobView } from '@ffleet/core';
import { Type } from '@sinclair/typebox';
import { checkOwner } from '../caller.ts';
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
 * `GET /v1/jobs/:id/events`: Server-Sent Events with the job's view each time it changes
 * (`event: job`), ending after the job finishes.
 */
export const eventRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/v1/jobs/:id/events',
    {
      schema: {
        operationId: 'streamJobEvents',
        summary: 'Job updates as Server-Sent Events',
        description:
          "An `event: job` whose data is the job's view (as `GET /v1/jobs/{id}`) at each change; " +
          'the stream closes after the job finishes.',
        tags: ['jobs'],
        params: JobIdParams,
        response: {
          200: {
            description: 'The event stream',
            content: { 'text/event-stream': { schema: Type.String() } },
          },
          404: ErrorBodySchema,
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const first = await app.queues.view(id);
      if (!first) throw new FfleetError('not_found', `job ${id} does not exist`, 404);
      checkOwner(request, first);

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

      const events = app.poolEvents.get(first.pool);
      // A chunked encode changes with its children's events too (`<id>-c3`, `<id>-a`). Events
      // that arrive while the view is being read are folded into one more read.
      const children = `${id}-`;
      let reading = false;
      let again = false;
      const read = async () => {
        reading = true;
        do {
          again = false;
          const view = await app.queues.view(id).catch(() => undefined);
          if (!view || res.writableEnded) break;
          send(view);
          if (isFinishedState(view.state)) close();
        } while (again);
        reading = false;
      };
      const onEvent = (event: { jobId: string }) => {
        if (event.jobId !== id && !event.jobId.startsWith(children)) return;
        if (reading) again = true;
        else void read();
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
};
