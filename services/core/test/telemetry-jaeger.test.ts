import { context, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Jaeger, type JaegerSpan, startJaeger } from '../../../scripts/lib/jaeger.ts';
import { RESOURCE, SPAN } from '../src/telemetry/attributes.ts';
import { contextFromTraceparent, traceIdOf, traceparentOf } from '../src/telemetry/context.ts';
import { inSpan } from '../src/telemetry/spans.ts';
import { startTelemetry, type Telemetry } from '../src/telemetry/tracing.ts';

// A real Jaeger v2 (built once into the tool cache if missing, which takes minutes).
let jaeger: Jaeger;
let telemetry: Telemetry;

beforeAll(async () => {
  jaeger = await startJaeger({ log: (line) => console.log(line) });
  telemetry = await startTelemetry({
    service: 'ffleet-worker',
    pool: 'arm',
    endpoint: jaeger.otlpEndpoint,
    env: { FFLEET_INSTANCE_TYPE: 'c7g.large', FFLEET_CAPACITY_TYPE: 'spot', POD_NAME: 'worker-arm-0' },
  });
}, 1_800_000);

afterAll(async () => {
  await telemetry?.shutdown();
  await jaeger?.stop();
});

const tag = (span: JaegerSpan | undefined, key: string) => span?.tags.find((t) => t.key === key)?.value;

describe('traces in Jaeger', () => {
  it('shows a job continued from a stored traceparent, with stages as children and resource attributes', async () => {
    const tracer = telemetry.tracer;
    const request = tracer.startSpan('POST /v1/jobs');
    const traceparent = context.with(trace.setSpan(context.active(), request), () => traceparentOf());
    request.end();

    await inSpan(
      tracer,
      'job',
      { parent: contextFromTraceparent(traceparent), attributes: { [SPAN.jobId]: '17', [SPAN.pool]: 'arm' } },
      async (job) => {
        await inSpan(tracer, 'download', { attributes: { [SPAN.inputBytes]: 1234 } }, async () => {});
        await inSpan(tracer, 'ffmpeg', {}, async (span) => {
          span.addEvent('progress', { percent: 50 });
          span.setAttribute(SPAN.exitCode, 0);
        });
        await inSpan(tracer, 'upload', {}, async () => {});
        job.setAttribute(SPAN.speed, 4.5);
      },
    );
    await telemetry.flush();

    const traceId = traceIdOf(traceparent)!;
    const found = await jaeger.waitForTrace(traceId, { minSpans: 5 });
    const byName = Object.fromEntries(found.spans.map((s) => [s.operationName, s]));
    const parentOf = (name: string) => byName[name]?.references.find((r) => r.refType === 'CHILD_OF')?.spanID;
    expect(Object.keys(byName).sort()).toEqual(['POST /v1/jobs', 'download', 'ffmpeg', 'job', 'upload']);
    expect(parentOf('POST /v1/jobs')).toBeUndefined();
    expect(parentOf('job')).toBe(byName['POST /v1/jobs']!.spanID);
    for (const stage of ['download', 'ffmpeg', 'upload']) expect(parentOf(stage)).toBe(byName.job!.spanID);
    expect(tag(byName.job, SPAN.jobId)).toBe('17');
    expect(tag(byName.job, SPAN.speed)).toBe(4.5);
    expect(tag(byName.download, SPAN.inputBytes)).toBe(1234);
    expect(byName.ffmpeg!.logs[0]!.fields).toContainEqual({
      key: 'event',
      type: 'string',
      value: 'progress',
    });

    const process = found.processes[byName.job!.processID]!;
    expect(process.serviceName).toBe('ffleet-worker');
    const resource = Object.fromEntries(process.tags.map((t) => [t.key, t.value]));
    expect(resource).toMatchObject({
      [RESOURCE.pool]: 'arm',
      [RESOURCE.hostType]: 'c7g.large',
      [RESOURCE.capacityType]: 'spot',
      [RESOURCE.k8sPod]: 'worker-arm-0',
    });
    expect(jaeger.traceUrl(traceId)).toBe(`${jaeger.queryUrl}/trace/${traceId}`);
  });
});
