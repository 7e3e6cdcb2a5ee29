/**
 * `make dev`: a local fleet on loopback until Ctrl-C, with Jaeger for traces when it is
 * installed. Writes .ffleet/dev.env so the CLI (`pnpm ffleet …`) and other tools can attach.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalFleet, writeDevEnv } from './lib/local-fleet.ts';
import { makeSampleClip } from './lib/sample-clip.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const devEnv = join(ROOT, '.ffleet', 'dev.env');
const pools = process.env.FFLEET_POOLS?.split(',').filter(Boolean);
const fleet = await startLocalFleet({
  ...(pools ? { pools } : {}),
  gatewayPort: Number(process.env.PORT) || undefined,
  tracing: 'auto',
});
await writeDevEnv(devEnv, fleet);
const sampleUrl = await putSampleClip();

const workerMetrics = fleet.workers.map((w) => `${w.pool} ${w.metricsUrl}`).join('\n              ');
process.stdout.write(`
ffleet is running
  gateway     ${fleet.gatewayUrl}   (API docs: ${fleet.gatewayUrl}/docs)
  pools       ${fleet.pools.join(', ')}
  redis       ${fleet.stack.redisUrl}
  s3          ${fleet.stack.s3Endpoint}   bucket ${fleet.stack.bucket}
  traces      ${fleet.jaeger ? `${fleet.jaeger.queryUrl}   (Jaeger UI; each job's trace is its links.trace)` : `off: ${fleet.tracingOff}`}
  metrics     gateway ${fleet.gatewayUrl}/metrics
              ${workerMetrics}
  records     s3://${fleet.stack.bucket}/metrics/   (quality and timing per job; pnpm ffleet report)
  settings    ${devEnv}
  sample      ${sampleUrl}   (30 s 720p clip to try jobs on)
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

/** A 30 s clip in the local bucket, so the first job has something to read. */
async function putSampleClip(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ffleet-dev-'));
  try {
    const file = join(dir, 'sample.mp4');
    await makeSampleClip(file, { seconds: 30 });
    await fleet.stack.putFile('samples/sample.mp4', file);
    return `s3://${fleet.stack.bucket}/samples/sample.mp4`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
