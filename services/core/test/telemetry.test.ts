import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { context, trace } from '@opentelemetry/api';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { RESOURCE, SPAN } from '../src/telemetry/attributes.ts';
import { contextFromTraceparent, traceIdOf, traceparentOf } from '../src/telemetry/context.ts';
import { traceLogMixin } from '../src/telemetry/log-context.ts';
import { cpuArch, inCluster, resolveResourceAttributes } from '../src/telemetry/resource.ts';
import { inSpan } from '../src/telemetry/spans.ts';
import {
  batchOptionsFromEnv,
  otlpTracesUrl,
  startTelemetry,
  type Telemetry,
  tracingDisabledReason,
} from '../src/telemetry/tracing.ts';

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: { key: string; value: OtlpValue }[];
  status?: { code?: number };
}
interface OtlpExport {
  resourceSpans: {
    resource: { attributes: { key: string; value: OtlpValue }[] };
    scopeSpans: { spans: OtlpSpan[] }[];
  }[];
}

/** An HTTP endpoint that keeps what the OTLP/HTTP exporter posts to /v1/traces. */
async function otlpSink(): Promise<{
  server: Server;
  endpoint: string;
  exports: OtlpExport[];
  paths: string[];
}> {
  const exports: OtlpExport[] = [];
  const paths: string[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    paths.push(req.url ?? '');
    exports.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { server, endpoint: `http://127.0.0.1:${port}`, exports, paths };
}

const attr = (list: { key: string; value: OtlpValue }[], key: string) => {
  const v = list.find((a) => a.key === key)?.value;
  return v?.stringValue ?? (v?.intValue !== undefined ? Number(v.intValue) : v?.doubleValue);
};

describe('tracing switch', () => {
  it('is off without an OTLP endpoint or with OTEL_SDK_DISABLED', () => {
    expect(tracingDisabledReason({})).toBe('no OTEL_EXPORTER_OTLP_ENDPOINT');
    expect(
      tracingDisabledReason({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
        OTEL_SDK_DISABLED: 'true',
      }),
    ).toBe('OTEL_SDK_DISABLED=true');
    expect(tracingDisabledReason({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBeUndefined();
  });

  it('derives the traces URL like the OTLP exporter spec says', () => {
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' })).toBe('http://c:4318/v1/traces');
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/custom' })).toBe(
      'http://c:4318/custom',
    );
  });

  it('gives a no-op tracer when disabled: no traceparent leaks into job data', async () => {
    const telemetry = await startTelemetry({ service: 'ffleet-worker', env: {} });
    expect(telemetry.enabled).toBe(false);
    await telemetry.tracer.startActiveSpan('job', async (span) => {
      expect(span.isRecording()).toBe(false);
      expect(traceparentOf()).toBeUndefined();
      span.end();
    });
    await telemetry.shutdown();
  });
});

describe('resource attributes', () => {
  it('come from env outside a cluster', async () => {
    const attributes = await resolveResourceAttributes({
      service: 'ffleet-worker',
      pool: 'intel',
      env: {
        FFLEET_INSTANCE_TYPE: 'c6i.2xlarge',
        FFLEET_ZONE: 'eu-west-1a',
        FFLEET_CAPACITY_TYPE: 'spot',
        POD_NAME: 'worker-intel-0',
        POD_NAMESPACE: 'ffleet',
      },
      readPlacement: () => {
        throw new Error('must not read the node outside a cluster');
      },
    });
    expect(attributes).toEqual({
      [RESOURCE.serviceName]: 'ffleet-worker',
      [RESOURCE.hostArch]: cpuArch(),
      [RESOURCE.accelerator]: 'none',
      [RESOURCE.pool]: 'intel',
      [RESOURCE.hostType]: 'c6i.2xlarge',
      [RESOURCE.zone]: 'eu-west-1a',
      [RESOURCE.capacityType]: 'spot',
      [RESOURCE.k8sPod]: 'worker-intel-0',
      [RESOURCE.k8sNamespace]: 'ffleet',
    });
    expect(['amd64', 'arm64']).toContain(cpuArch());
  });

  it("prefer the node's labels in a cluster and fall back to env when the API fails", async () => {
    const env = { KUBERNETES_SERVICE_HOST: '10.0.0.1', NODE_NAME: 'ip-10-0-1-2', FFLEET_ZONE: 'env-zone' };
    expect(inCluster(env)).toBe(true);
    const fromNode = await resolveResourceAttributes({
      service: 'ffleet-worker',
      pool: 'nvidia',
      accelerator: 'nvidia',
      env,
      readPlacement: async (name) => {
        expect(name).toBe('ip-10-0-1-2');
        return { instanceType: 'g4dn.xlarge', zone: 'us-east-1b', capacityType: 'spot' };
      },
    });
    expect(fromNode).toMatchObject({
      [RESOURCE.hostType]: 'g4dn.xlarge',
      [RESOURCE.zone]: 'us-east-1b',
      [RESOURCE.capacityType]: 'spot',
      [RESOURCE.k8sNode]: 'ip-10-0-1-2',
      [RESOURCE.accelerator]: 'nvidia',
    });

    const warnings: string[] = [];
    const fallback = await resolveResourceAttributes({
      service: 'ffleet-worker',
      env,
      readPlacement: async () => {
        throw new Error('nodes "ip-10-0-1-2" is forbidden');
      },
      onWarning: (m) => warnings.push(m),
    });
    expect(fallback[RESOURCE.zone]).toBe('env-zone');
    expect(fallback[RESOURCE.hostType]).toBeUndefined();
    expect(warnings[0]).toContain('forbidden');
  });
});

describe('tracing to an OTLP/HTTP endpoint', () => {
  let telemetry: Telemetry | undefined;
  let sink: Awaited<ReturnType<typeof otlpSink>> | undefined;
  afterEach(async () => {
    await telemetry?.shutdown();
    sink?.server.close();
  });

  it('continues a trace from a stored traceparent and exports spans with resource attributes', async () => {
    sink = await otlpSink();
    telemetry = await startTelemetry({
      service: 'ffleet-worker',
      pool: 'intel',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint, FFLEET_INSTANCE_TYPE: 'c6i.large' },
    });
    expect(telemetry.enabled).toBe(true);
    const tracer = telemetry.tracer;

    // The gateway's request span: its context goes into the job data as a string.
    let traceparent: string | undefined;
    const gatewaySpan = tracer.startSpan('POST /v1/jobs');
    context.with(trace.setSpan(context.active(), gatewaySpan), () => {
      traceparent = traceparentOf();
    });
    gatewaySpan.end();
    expect(traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);

    // The worker continues it: job span, then stage spans, with a failing stage recorded.
    const logLines: Record<string, unknown>[] = [];
    const logger = pino(
      { mixin: traceLogMixin },
      new Writable({
        write(chunk, _enc, done) {
          logLines.push(JSON.parse(String(chunk)));
          done();
        },
      }),
    );
    await inSpan(
      tracer,
      'job',
      { parent: contextFromTraceparent(traceparent), attributes: { [SPAN.jobId]: '42' } },
      async () => {
        logger.info('job started');
        await inSpan(tracer, 'ffmpeg', {}, async (span) => span.setAttribute(SPAN.exitCode, 0));
        await expect(
          inSpan(tracer, 'upload', {}, async () => {
            throw new Error('S3 down');
          }),
        ).rejects.toThrow('S3 down');
      },
    );
    logger.info('outside');
    await telemetry.flush();

    const resourceSpans = sink.exports.flatMap((e) => e.resourceSpans);
    expect(sink.paths.every((p) => p === '/v1/traces')).toBe(true);
    const resource = resourceSpans[0]!.resource.attributes;
    expect(attr(resource, 'service.name')).toBe('ffleet-worker');
    expect(attr(resource, RESOURCE.pool)).toBe('intel');
    expect(attr(resource, RESOURCE.hostType)).toBe('c6i.large');
    const spans = resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    const byName = Object.fromEntries(spans.map((s) => [s.name, s]));
    const traceId = traceIdOf(traceparent);
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([traceId]));
    expect(byName.job!.parentSpanId).toBe(byName['POST /v1/jobs']!.spanId);
    expect(byName.ffmpeg!.parentSpanId).toBe(byName.job!.spanId);
    expect(byName.upload!.parentSpanId).toBe(byName.job!.spanId);
    expect(attr(byName.job!.attributes, SPAN.jobId)).toBe('42');
    expect(attr(byName.ffmpeg!.attributes, SPAN.exitCode)).toBe(0);
    expect(byName.upload!.status?.code).toBe(2); // ERROR

    expect(logLines[0]).toMatchObject({ msg: 'job started', trace_id: traceId, span_id: byName.job!.spanId });
    expect(logLines[1]!.trace_id).toBeUndefined();
  });

  it('honours the standard sampler setting: always_off exports nothing, a sampled parent still wins', async () => {
    sink = await otlpSink();
    telemetry = await startTelemetry({
      service: 'ffleet-gateway',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint, OTEL_TRACES_SAMPLER: 'parentbased_always_off' },
    });
    telemetry.tracer.startSpan('dropped').end();
    const parent = contextFromTraceparent(`00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01`);
    telemetry.tracer.startSpan('kept', {}, parent).end();
    await telemetry.flush();
    const spans = sink.exports.flatMap((e) =>
      e.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)),
    );
    expect(spans.map((s) => s.name)).toEqual(['kept']);
  });

  it('reads the batch settings OTEL_BSP_*, ignoring values that are not numbers', () => {
    expect(
      batchOptionsFromEnv({
        OTEL_BSP_SCHEDULE_DELAY: '1000',
        OTEL_BSP_MAX_QUEUE_SIZE: 'lots',
        OTEL_BSP_EXPORT_TIMEOUT: '',
      }),
    ).toEqual({
      scheduledDelayMillis: 1000,
      exportTimeoutMillis: undefined,
      maxQueueSize: undefined,
      maxExportBatchSize: undefined,
    });
  });

  it('starts a new trace when the stored traceparent is missing or malformed', () => {
    expect(trace.getSpanContext(contextFromTraceparent(undefined))).toBeUndefined();
    expect(trace.getSpanContext(contextFromTraceparent('garbage'))).toBeUndefined();
    expect(traceIdOf('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')).toBe(
      '0af7651916cd43dd8448eb211c80319c',
    );
  });
});
