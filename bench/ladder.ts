/**
 * What spreading a ladder's rungs over workers gains, measured on this machine in one run:
 *
 *   ladder_speedup_w2   the whole default ladder of a 60 s 1080p clip (nine rungs and the audio,
 *                       each encode single-threaded) as a job on one worker, its encodes one after
 *                       another ÷ the same job on two workers
 *
 * Both runs include the plan and the packaging (HLS and DASH), which one worker does alone.
 * `node bench/ladder.ts` runs this part on its own.
 */
import { join } from 'node:path';
import { GatewayClient } from '@ffleet/cli';
import { localPool, startLocalFleet } from '../scripts/lib/local-fleet.ts';
import { makeSampleClip } from '../scripts/lib/sample-clip.ts';
import { followToTheEnd } from './follow-job.ts';

const PRESET = 'veryfast';

interface Options {
  quick: boolean;
  work: string;
  print: (name: string, value: string | number) => void;
}

export async function measureLadder({ quick, work, print }: Options): Promise<void> {
  const seconds = quick ? 12 : 60;
  const clip = join(work, 'ladder-input.mp4');
  await makeSampleClip(clip, { seconds, size: '1920x1080', rate: 25 });
  const w1 = await ladderOnWorkers(clip, 1);
  const w2 = await ladderOnWorkers(clip, 2);
  print(
    'ladder_input',
    `${seconds}s 1920x1080 25 fps h264+aac, default ladder, preset ${PRESET}, 1 thread per encode`,
  );
  print('ladder_rungs', w2.rungs);
  print('ladder_job_w1_ms', Math.round(w1.ms));
  print('ladder_job_w2_ms', Math.round(w2.ms));
  print('ladder_speedup_w2', (w1.ms / w2.ms).toFixed(2));
}

/** The ladder job on a fresh local fleet of `workers` single-slot workers: its wall time, submit to end. */
async function ladderOnWorkers(clip: string, workers: number): Promise<{ ms: number; rungs: number }> {
  const pool = localPool();
  const fleet = await startLocalFleet({
    quiet: process.env.BENCH_VERBOSE !== '1',
    pools: Array.from({ length: workers }, () => pool),
    extraEnv: { FFLEET_QUALITY_DEFAULT: 'false', FFLEET_CONCURRENCY: '1' },
  });
  try {
    const bucket = fleet.stack.bucket;
    await fleet.stack.putFile('bench/ladder.mp4', clip);
    const client = new GatewayClient(fleet.gatewayUrl);
    const submitted = performance.now();
    const { id } = await client.request<{ id: string }>('POST', '/v1/jobs', {
      name: `bench-ladder-w${workers}`,
      compute: pool,
      inputs: [{ url: `s3://${bucket}/bench/ladder.mp4` }],
      outputs: [{ url: `s3://${bucket}/bench/ladder-w${workers}/` }],
      ladder: { preset: PRESET, threads: 1 },
    });
    const job = await followToTheEnd(fleet.gatewayUrl, id);
    const ms = performance.now() - submitted;
    if (job.state !== 'succeeded' || job.pipeline?.kind !== 'ladder')
      throw new Error(`ladder bench job failed: ${JSON.stringify(job.error)}`);
    return { ms, rungs: job.pipeline.rungs?.length ?? 0 };
  } finally {
    await fleet.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const work = await mkdtemp(join(tmpdir(), 'ffleet-bench-ladder-'));
  try {
    await measureLadder({
      quick: process.env.BENCH_QUICK === '1',
      work,
      print: (name, value) => process.stdout.write(`${name}: ${value}\n`),
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
