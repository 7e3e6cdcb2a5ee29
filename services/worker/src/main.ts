#!/usr/bin/env node
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createLogger, FileStore, S3Store, StorageRouter } from '@ffleet/core';
import { loadWorkerConfig } from './config.ts';
import { probeCapabilities } from './ffmpeg/probe.ts';
import { FleetWorker } from './fleet/fleet-worker.ts';

const config = loadWorkerConfig();
const logger = createLogger('ffleet-worker', { pool: config.pool.name });
const capabilities = await probeCapabilities(config.ffmpegPath);
const missing = config.pool.encoders.filter((e) => !capabilities.encoders.includes(e));
if (missing.length > 0) logger.warn({ missing }, 'this ffmpeg lacks encoders the pool registry lists');
await mkdir(config.workRoot, { recursive: true });

const worker = new FleetWorker(config.fleet.redisUrl, config.fleet.queuePrefix, {
  pool: config.pool,
  concurrency: config.concurrency,
  shutdownGraceMs: config.shutdownGraceMs,
  lockDurationMs: config.lockDurationMs,
  capabilities,
  logger,
  deps: {
    config: config.fleet,
    storage: new StorageRouter({
      s3: new S3Store(config.fleet.s3),
      ...(config.fleet.fileRoot ? { file: new FileStore(config.fleet.fileRoot) } : {}),
    }),
    ffmpegPath: config.ffmpegPath,
    ffprobePath: config.ffprobePath,
    workRoot: config.workRoot,
    maxOutputBytes: config.maxOutputBytes,
  },
});

const health = createServer((request, response) => {
  if (request.url === '/healthz') return void response.writeHead(200).end('ok');
  response.writeHead(404).end();
});
if (config.httpPort > 0) health.listen(config.httpPort, process.env.FFLEET_WORKER_HOST ?? '0.0.0.0');

await worker.start();

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, async () => {
    logger.info({ signal }, 'signal received');
    await worker.stop();
    health.close();
    process.exit(0);
  });
}
