#!/usr/bin/env node
import { createLogger, loadOrExit, startTelemetry } from '@ffleet/core';
import { buildGateway } from './app.ts';
import { loadGatewayConfig } from './config.ts';

const config = loadOrExit('ffleet-gateway', () => loadGatewayConfig());
const logger = createLogger('ffleet-gateway', config.logLevel);
const telemetry = await startTelemetry({
  service: 'ffleet-gateway',
  onWarning: (message) => logger.warn(message),
});
const app = await buildGateway({
  config: config.fleet,
  apiTokens: config.apiTokens,
  rateLimit: config.rateLimit,
  authFailuresPerMinute: config.authFailuresPerMinute,
  // A submission's request logger carries its trace_id and span_id (plugins/tracing.ts).
  logger: { level: config.logLevel, base: { service: 'ffleet-gateway' } },
  // Without a tracer the gateway makes no spans and adds no per-request work for them.
  ...(telemetry.enabled ? { tracer: telemetry.tracer } : {}),
  traceUiUrl: config.traceUiUrl,
  redisTimeoutMs: config.redisTimeoutMs,
});
await app.listen({ host: config.host, port: config.port });
logger.info({ host: config.host, port: config.port, tracing: telemetry.enabled }, 'gateway listening');

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
