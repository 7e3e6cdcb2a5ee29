import { GatewayClient, type JobView } from '@ffleet/cli';
import { localPool, startLocalFleet } from '../scripts/lib/local-fleet.ts';
import { followToTheEnd } from './follow-job.ts';

/**
 * One pipeline job on a fresh local fleet of `workers` single-slot workers: the clip uploaded
 * as `bench/<name>.mp4`, the job made by `body` from its input URL, an output folder and the
 * pool, followed to its end. Returns its wall time (submission to end), its last view and the
 * views of the children named by `childIds` (read before the fleet stops); a job that did not
 * succeed throws.
 */
export async function pipelineOnWorkers(
  clip: string,
  workers: number,
  name: string,
  body: (job: { input: string; folder: string; pool: string }) => Record<string, unknown>,
  childIds: (job: JobView) => string[] = () => [],
): Promise<{ ms: number; job: JobView; children: JobView[] }> {
  const pool = localPool();
  const fleet = await startLocalFleet({
    quiet: process.env.BENCH_VERBOSE !== '1',
    pools: Array.from({ length: workers }, () => pool),
    extraEnv: { FFLEET_QUALITY_DEFAULT: 'false', FFLEET_CONCURRENCY: '1' },
  });
  try {
    const bucket = fleet.stack.bucket;
    await fleet.stack.putFile(`bench/${name}.mp4`, clip);
    const client = new GatewayClient(fleet.gatewayUrl);
    const submitted = performance.now();
    const { id } = await client.request<{ id: string }>('POST', '/v1/jobs', {
      name: `bench-${name}-w${workers}`,
      compute: pool,
      ...body({
        input: `s3://${bucket}/bench/${name}.mp4`,
        folder: `s3://${bucket}/bench/${name}-w${workers}/`,
        pool,
      }),
    });
    const job = await followToTheEnd(fleet.gatewayUrl, id);
    const ms = performance.now() - submitted;
    if (job.state !== 'succeeded') throw new Error(`${name} bench job failed: ${JSON.stringify(job.error)}`);
    const children = await Promise.all(
      childIds(job).map((child) => client.request<JobView>('GET', `/v1/jobs/${child}`)),
    );
    return { ms, job, children };
  } finally {
    await fleet.stop();
  }
}

/** Each step summed over a pipeline's children, one line: `download …, ffmpeg …, upload …, total …` (ms). */
export function childStepsSummary(children: readonly JobView[]): string {
  const sum = (step: 'download' | 'ffmpeg' | 'upload' | 'total') =>
    children.reduce((total, child) => total + (child.timings?.[step] ?? 0), 0);
  return `download ${sum('download')}, ffmpeg ${sum('ffmpeg')}, upload ${sum('upload')}, total ${sum('total')}`;
}
