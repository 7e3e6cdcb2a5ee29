#!/usr/bin/env node
import { createLogger, list, loadFleetConfig } from '@ffleet/core';
import { buildGateway } from './app.ts';

const logger = createLogger('ffleet-gateway');
const app = await buildGateway({
  config: loadFleetConfig(),
  apiTokens: list(process.env.FFLEET_API_TOKENS),
  logger: { level: process.env.LOG_LEVEL ?? 'info', base: { service: 'ffleet-gateway' } },
});
const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 8080);
await app.listen({ host, port });
logger.info({ host, port }, 'gateway listening');

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, async () => {
    logger.info({ signal }, 'shutting down');
    await app.close();
    process.exit(0);
  });
}
