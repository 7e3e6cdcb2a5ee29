import { Type } from '@sinclair/typebox';

/** Response schemas: they document the API in /docs. Open objects so no field is dropped. */
const open = { additionalProperties: true } as const;

export const ErrorSchema = Type.Object(
  { error: Type.String(), message: Type.String(), details: Type.Any() },
  { description: 'Every error response' },
);

export const LinksSchema = Type.Object({ self: Type.String(), events: Type.String() }, open);

export const JobAcceptedSchema = Type.Object({
  id: Type.String(),
  state: Type.String(),
  pool: Type.String(),
  links: LinksSchema,
});

export const JobViewSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    pool: Type.String(),
    state: Type.Union(['queued', 'running', 'succeeded', 'failed', 'cancelled'].map((s) => Type.Literal(s))),
    progress: Type.Union([Type.Null(), Type.Object({ stage: Type.String(), percent: Type.Number() }, open)]),
    attempts: Type.Object({ made: Type.Integer(), max: Type.Integer() }),
    createdAt: Type.String(),
    startedAt: Type.Union([Type.String(), Type.Null()]),
    finishedAt: Type.Union([Type.String(), Type.Null()]),
    timings: Type.Union([Type.Null(), Type.Object({}, open)]),
    outputs: Type.Union([
      Type.Null(),
      Type.Array(Type.Object({ url: Type.String(), bytes: Type.Integer() }, open)),
    ]),
    media: Type.Union([Type.Null(), Type.Object({}, open)]),
    error: Type.Union([Type.Null(), Type.Object({ code: Type.String(), message: Type.String() }, open)]),
    spec: Type.Object({}, open),
    links: LinksSchema,
  },
  open,
);

export const JobIdParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9-]{1,64}$' }) });
