import { Type } from '@sinclair/typebox';

/** Response schemas: they document the API in /docs. Open objects so no field is dropped. */
const open = { additionalProperties: true } as const;

export const ErrorSchema = Type.Object(
  { error: Type.String(), message: Type.String(), details: Type.Any() },
  { description: 'Every error response' },
);

export const LinksSchema = Type.Object(
  {
    self: Type.String(),
    events: Type.String(),
    trace: Type.Optional(Type.String({ description: 'The trace in the tracing UI (FFLEET_TRACE_UI_URL)' })),
  },
  open,
);

export const JobAcceptedSchema = Type.Object({
  id: Type.String(),
  state: Type.String(),
  pool: Type.String(),
  links: LinksSchema,
  traceId: Type.Optional(Type.String({ description: "The job's trace id (W3C), when traced" })),
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
    quality: Type.Union([
      Type.Null(),
      Type.Object(
        { status: Type.String({ description: 'measured | not_applicable | failed' }) },
        { ...open, description: 'Mean PSNR, SSIM and VMAF of the first output against the first input' },
      ),
    ]),
    metricsUrl: Type.Union([Type.Null(), Type.String({ description: 'The quality record (ffqm JSON)' })]),
    traceId: Type.Union([Type.Null(), Type.String()]),
    spec: Type.Object({}, open),
    links: LinksSchema,
  },
  open,
);

export const JobIdParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9-]{1,64}$' }) });
