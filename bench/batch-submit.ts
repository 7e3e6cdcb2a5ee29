/**
 * `batch_submit_items_per_s`: how fast a 10 000-item batch goes in. One `POST /v1/batches` with
 * 10 000 input URLs (checked, then queued in bulks behind a gate) against the baseline of the
 * same 10 000 jobs as plain `POST /v1/jobs`, 32 in flight, measured in the same run on the same
 * gateway. Both go to a pool no worker serves, so nothing else runs; both are removed after.
 */
import { GatewayClient } from '@ffleet/cli';
import { startLocalFleet } from '../scripts/lib/local-fleet.ts';

const IN_FLIGHT = 32;

export async function measureBatchSubmit(options: {
  quick: boolean;
  print: (name: string, value: string | number) => void;
  gatewayUrl: string;
  bucket: string;
  /** A pool no worker serves. */
  pool: string;
}): Promise<void> {
  const { quick, print, bucket, pool } = options;
  const client = new GatewayClient(options.gatewayUrl);
  const items = quick ? 1000 : 10_000;
  const inputs = Array.from({ length: items }, (_, i) => `s3://${bucket}/bench/batch/take-${i}.mov`);
  const command = '-vf scale=-2:540 -c:v libx264 -crf 23 -c:a aac';

  // The baseline: one job per input, as a client without batches submits them.
  const ids: string[] = [];
  let next = 0;
  const jobsStarted = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < items) {
        const i = next++;
        const accepted = await client.request<{ id: string }>('POST', '/v1/jobs', {
          name: 'bench-batch',
          compute: pool,
          inputs: [{ url: inputs[i] }],
          outputs: [{ url: `s3://${bucket}/bench/batch-out/take-${i}.mp4`, options: command }],
        });
        ids.push(accepted.id);
      }
    }),
  );
  const jobsPerSecond = items / ((performance.now() - jobsStarted) / 1000);

  const batchStarted = performance.now();
  const batch = await client.request<{ id: string; items: number }>('POST', '/v1/batches', {
    name: 'bench-batch',
    compute: pool,
    items: inputs,
    outputs: [{ url: `s3://${bucket}/bench/batch-out/{stem}.mp4`, options: command }],
  });
  const batchMs = performance.now() - batchStarted;
  if (batch.items !== items) throw new Error(`the batch holds ${batch.items} items, not ${items}`);
  const itemsPerSecond = items / (batchMs / 1000);

  // Leave nothing queued for the parts that follow.
  await client.request('DELETE', `/v1/batches/${batch.id}`);
  let cancelled = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (cancelled < ids.length) await client.request('DELETE', `/v1/jobs/${ids[cancelled++]}`);
    }),
  );

  print('batch_submit_items', items);
  print('batch_submit_ms', Math.round(batchMs));
  print('batch_submit_items_per_s', Math.round(itemsPerSecond));
  print('batch_baseline_jobs_per_s', Math.round(jobsPerSecond));
  print('batch_submit_vs_jobs_ratio', Number((itemsPerSecond / jobsPerSecond).toFixed(2)));
}

/** `node bench/batch-submit.ts` runs this part alone, on a local fleet of its own. */
if (import.meta.main) {
  const quick = process.env.BENCH_QUICK === '1';
  const print = (name: string, value: string | number) => process.stdout.write(`${name}: ${value}\n`);
  const fleet = await startLocalFleet({ quiet: true });
  try {
    const pool = fleet.pools[0] === 'xilinx' ? 'nvidia' : 'xilinx';
    await measureBatchSubmit({
      quick,
      print,
      gatewayUrl: fleet.gatewayUrl,
      bucket: fleet.stack.bucket,
      pool,
    });
  } finally {
    await fleet.stop();
  }
}
