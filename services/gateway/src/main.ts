#!/usr/bin/env node
import { createLogger, list, loadFleetConfig, startTelemetry } from '@ffleet/core';
import { buildGateway } from './app.ts';

const logger = createLogger('ffleet-gateway');
const telemetry = await startTelemetry({
  service: 'ffleet-gateway',
  onWarning: (message) => logger.warn(message),
});
const app = await buildGateway({
  config: loadFleetConfig(),
  apiTokens: list(process.env.FFLEET_API_TOKENS),
  // A submission's request logger carries its trace_id and span_id (plugins/tracing.ts).
  logger: { level: process.env.LOG_LEVEL ?? 'info', base: { service: 'ffleet-gateway' } },
  tracer: telemetry.tracer,
  traceUiUrl: process.env.FFLEET_TRACE_UI_URL || undefined,
});
const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 8080);
await app.listen({ host, port });
logger.info({ host, port, tracing: telemetry.enabled }, 'gateway listening');

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, async () => {
    logger.info({ signal }, 'shutting down');
    await app.close();
    // Spans of the last requests go out first, unless the collector is gone.
    await Promise.race([
      telemetry.shutdown().catch((error) => logger.warn({ err: error }, 'telemetry shutdown failed')),
      new Promise((resolve) => setTimeout(resolve, 5000).unref()),
    ]);
    process.exit(0);
  });
}
