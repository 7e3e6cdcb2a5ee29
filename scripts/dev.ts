/**
 * `make dev`: a local fleet on loopback until Ctrl-C. Writes .ffleet/dev.env so the CLI
 * (`pnpm ffleet …`) and other tools can attach.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startLocalFleet, writeDevEnv } from './lib/local-fleet.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const devEnv = join(ROOT, '.ffleet', 'dev.env');
const pools = process.env.FFLEET_POOLS?.split(',').filter(Boolean);
const fleet = await startLocalFleet({
  ...(pools ? { pools } : {}),
  gatewayPort: Number(process.env.PORT) || undefined,
});
await writeDevEnv(devEnv, fleet);

process.stdout.write(`
ffleet is running
  gateway     ${fleet.gatewayUrl}   (API docs: ${fleet.gatewayUrl}/docs)
  pools       ${fleet.pools.join(', ')}
  redis       ${fleet.stack.redisUrl}
  s3          ${fleet.stack.s3Endpoint}   bucket ${fleet.stack.bucket}
  settings    ${devEnv}
Try:  pnpm ffleet pools
Press Ctrl-C to stop.
`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, async () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping…\n');
    await fleet.stop();
    await rm(devEnv, { force: true });
    process.exit(0);
  });
}
