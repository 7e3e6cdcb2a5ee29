import { type Attributes, context, propagation, type Tracer, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { type ResourceOptions, resolveResourceAttributes } from './resource.ts';

export const TRACER_NAME = 'ffleet';

export interface TelemetryOptions extends ResourceOptions {
  /** false turns tracing off whatever the env says. Default true. */
  enabled?: boolean;
  /** OTLP/HTTP base URL (…:4318); defaults to OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint?: string;
}

export interface Telemetry {
  /** False when tracing is off: spans are then no-ops and cost next to nothing. */
  readonly enabled: boolean;
  readonly tracer: Tracer;
  /** The resource attributes every span of this process carries. */
  readonly resource: Attributes;
  /** Exports the spans ended so far. */
  flush(): Promise<void>;
  /** Exports what is left and unregisters the SDK; call once on exit. */
  shutdown(): Promise<void>;
}

/** Why tracing is off for this env, or undefined when it is on. */
export function tracingDisabledReason(env: NodeJS.ProcessEnv, endpoint?: string): string | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return 'OTEL_SDK_DISABLED=true';
  if (!endpoint && !env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
    return 'no OTEL_EXPORTER_OTLP_ENDPOINT';
  }
  return undefined;
}

/** OTLP/HTTP trace URL: an explicit traces endpoint is used as is, a base endpoint gets /v1/traces. */
export function otlpTracesUrl(env: NodeJS.ProcessEnv, endpoint?: string): string {
  if (!endpoint && env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const base = endpoint ?? env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '';
  return `${base.replace(/\/+$/, '')}/v1/traces`;
}

type TraceSdk = typeof import('@opentelemetry/sdk-trace');

/** The standard `OTEL_BSP_*` settings of the batch span processor; unset or invalid ones keep its defaults. */
export function batchOptionsFromEnv(env: NodeJS.ProcessEnv) {
  const number = (name: string) => {
    const value = Number(env[name]);
    return env[name]?.trim() && Number.isFinite(value) && value >= 0 ? value : undefined;
  };
  return {
    scheduledDelayMillis: number('OTEL_BSP_SCHEDULE_DELAY'),
    exportTimeoutMillis: number('OTEL_BSP_EXPORT_TIMEOUT'),
    maxQueueSize: number('OTEL_BSP_MAX_QUEUE_SIZE'),
    maxExportBatchSize: number('OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
  };
}

/** The standard `OTEL_TRACES_SAMPLER` (and `_ARG` ratio); unset means the SDK's default, parent-based always on. */
export function samplerFromEnv(env: NodeJS.ProcessEnv, sdk: TraceSdk) {
  const arg = Number(env.OTEL_TRACES_SAMPLER_ARG ?? 1);
  const ratio = Number.isFinite(arg) && arg >= 0 && arg <= 1 ? arg : 1;
  switch (env.OTEL_TRACES_SAMPLER?.trim()) {
    case 'always_on':
      return new sdk.AlwaysOnSampler();
    case 'always_off':
      return new sdk.AlwaysOffSampler();
    case 'traceidratio':
      return new sdk.TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off':
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new sdk.ParentBasedSampler({ root: new sdk.TraceIdRatioBasedSampler(ratio) });
    default:
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() });
  }
}

/**
 * Starts OpenTelemetry tracing for one process (gateway or worker): OTLP/HTTP export in batches,
 * W3C trace context, resource attributes describing where the process runs. Call it before
 * creating spans; with tracing off it returns a no-op tracer.
 */
export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const env = options.env ?? process.env;
  const resource = await resolveResourceAttributes({ ...options, env });
  const off =
    options.enabled === false ? 'disabled by configuration' : tracingDisabledReason(env, options.endpoint);
  if (off) {
    return {
      enabled: false,
      tracer: trace.getTracer(TRACER_NAME),
      resource,
      flush: async () => {},
      shutdown: async () => {},
    };
  }
  // Loaded only when tracing is on: the SDK and its exporter are a fifth of an idle process's memory.
  const [{ AsyncLocalStorageContextManager }, { OTLPTraceExporter }, { resourceFromAttributes }, sdk] =
    await Promise.all([
      import('@opentelemetry/context-async-hooks'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/sdk-trace'),
    ]);
  // Traces only: metrics are served to Prometheus by prom-client and logs go to stdout.
  const provider = new sdk.TracerProvider({
    resource: resourceFromAttributes(resource),
    sampler: samplerFromEnv(env, sdk),
    spanProcessors: [
      new sdk.BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: otlpTracesUrl(env, options.endpoint) }),
        ...batchOptionsFromEnv(env),
      }),
    ],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  let stopped = false;
  return {
    enabled: true,
    tracer: trace.getTracer(TRACER_NAME),
    resource,
    async flush() {
      await provider.forceFlush();
    },
    async shutdown() {
      if (stopped) return;
      stopped = true;
      try {
        await provider.shutdown();
      } finally {
        // Unregister so a later start in the same process (tests, restarts) registers cleanly.
        trace.disable();
        context.disable();
        propagation.disable();
      }
    },
  };
}
