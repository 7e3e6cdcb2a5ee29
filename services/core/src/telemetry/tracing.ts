import {
  type Attributes,
  context,
  type ProxyTracerProvider,
  propagation,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
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
  const sdk = new NodeSDK({
    resource: resourceFromAttributes(resource),
    autoDetectResources: false,
    traceExporter: new OTLPTraceExporter({ url: otlpTracesUrl(env, options.endpoint) }),
    textMapPropagator: new W3CTraceContextPropagator(),
    // Traces only: metrics are served to Prometheus by prom-client and logs go to stdout.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  let stopped = false;
  return {
    enabled: true,
    tracer: trace.getTracer(TRACER_NAME),
    resource,
    async flush() {
      const provider = (trace.getTracerProvider() as ProxyTracerProvider).getDelegate() as {
        forceFlush?: () => Promise<void>;
      };
      await provider.forceFlush?.();
    },
    async shutdown() {
      if (stopped) return;
      stopped = true;
      try {
        await sdk.shutdown();
      } finally {
        // Unregister so a later start in the same process (tests, restarts) registers cleanly.
        trace.disable();
        context.disable();
        propagation.disable();
      }
    },
  };
}
