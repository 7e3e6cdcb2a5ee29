#!/usr/bin/env node
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import {
  createLogger,
  createMetricsRegistry,
  FileStore,
  loadOrExit,
  RESOURCE,
  registerWorkerMetrics,
  S3Store,
  StorageRouter,
  startTelemetry,
} from '@ffleet/core';
import { loadWorkerConfig } from './config.ts';
import { probeCapabilities } from './ffmpeg/probe.ts';
import { FleetWorker } from './fleet/fleet-worker.ts';

const config = loadOrExit('ffleet-worker', () => loadWorkerConfig());
const logger = createLogger('ffleet-worker', config.logLevel, { pool: config.pool.name });
// Also resolves where this worker runs (instance type, zone, capacity type), which the job
// records carry whether or not tracing is on.
const telemetry = await startTelemetry({
  service: 'ffleet-worker',
  pool: config.pool.name,
  accelerator: config.pool.accelerator,
  onWarning: (message) => logger.warn(message),
});
const placementOf = (key: string) => {
  const value = telemetry.resource[key];
  return typeof value === 'string' ? value : undefined;
};
logger.info({ tracing: telemetry.enabled, resource: telemetry.resource }, 'telemetry');

const capabilities = await probeCapabilities(config.ffmpegPath, config.pool.encoders);
const missing = config.pool.encoders.filter((e) => !capabilities.encoders.includes(e));
if (missing.length > 0) {
  const reasons = Object.fromEntries(
    missing.map((e) => [e, capabilities.unusable[e] ?? 'not built into this ffmpeg']),
  );
  logger.warn({ missing: reasons }, 'encoders the pool registry lists are not usable on this worker');
}
await mkdir(config.workRoot, { recursive: true });

const registry = createMetricsRegistry({ service: 'ffleet-worker' });
const metrics = registerWorkerMetrics(registry, { pool: config.pool.name, concurrency: config.concurrency });

const worker = new FleetWorker(config.fleet, config.fleet.queuePrefix, {
  pool: config.pool,
  concurrency: config.concurrency,
  shutdownGraceMs: config.shutdownGraceMs,
  lockDurationMs: config.lockDurationMs,
  maxStalledCount: config.maxStalledCount,
  webhookConcurrency: config.webhookConcurrency,
  capabilities,
  logger,
  metrics,
  deps: {
    config: config.fleet,
    storage: new StorageRouter({
      s3: new S3Store({ ...config.fleet.s3, writeRetrySeconds: config.uploadRetrySeconds }),
      ...(config.fleet.fileRoot ? { file: new FileStore(config.fleet.fileRoot) } : {}),
    }),
    ffmpegPath: config.ffmpegPath,
    ffprobePath: config.ffprobePath,
    workRoot: config.workRoot,
    maxOutputBytes: config.maxOutputBytes,
    ffmpegLimits: config.ffmpegLimits,
    maxInputSeconds: config.maxInputSeconds,
    tracer: telemetry.tracer,
    qualityDefault: config.qualityDefault,
    qualityMode: config.qualityMode,
    qualitySubsample: config.qualitySubsample,
    metricsBucket: config.metricsBucket,
    scratchPrefix: config.scratchPrefix,
    placement: {
      instanceType: placementOf(RESOURCE.hostType),
      capacityType: placementOf(RESOURCE.capacityType),
      zone: placementOf(RESOURCE.zone),
      node: placementOf(RESOURCE.k8sNode),
    },
  },
});

// Ready (the chart's readiness probe) from the moment the worker takes jobs until it starts draining; /healthz only
// says the process answers (liveness).
let takingJobs = false;
const server = createServer((request, response) => {
  const path = request.url?.split('?')[0];
  if (path === '/healthz') return void response.writeHead(200).end('ok');
  if (path === '/readyz')
    return void response.writeHead(takingJobs ? 200 : 503).end(takingJobs ? 'ready' : 'not ready');
  if (path === '/metrics' && request.method === 'GET') {
    registry
      .metrics()
      .then((text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text))
      .catch((error) => response.writeHead(500).end(String(error)));
    return;
  }
  response.writeHead(404).end();
});
if (config.httpPort > 0) server.listen(config.httpPort, config.httpHost);

await worker.start();
takingJobs = true;

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, async () => {
    logger.info({ signal }, 'signal received');
    takingJobs = false;
    await worker.stop();
    server.close();
    // Spans of the last jobs go out before the process does, unless the collector is gone.
    await Promise.race([
      telemetry.shutdown().catch((error) => logger.warn({ err: error }, 'telemetry shutdown failed')),
      new Promise((resolve) => setTimeout(resolve, 5000).unref()),
    ]);
    process.exit(0);
  });
}
