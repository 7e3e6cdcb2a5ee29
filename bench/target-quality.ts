/**
 * What a quality target's CRF search costs, measured on this machine in one run:
 *
 *   target_quality_probe_cost   the job's probe stage (cutting the samples, the probe encodes
 *                               and their SSIM measurements) ÷ its final encode (the ffmpeg
 *                               stage), for a 120 s clip probed on samples
 *
 * One job with an SSIM target on a local fleet of one worker; both times are the job's own
 * stage times. `node bench/target-quality.ts` runs this part on its own.
 */
import { join } from 'node:path';
import { GatewayClient, type JobView } from '@ffleet/cli';
import type { TargetQualityResult } from '@ffleet/core';
import { localPool, startLocalFleet } from '../scripts/lib/local-fleet.ts';
import { makeSampleClip } from '../scripts/lib/sample-clip.ts';
import { followToTheEnd } from './follow-job.ts';
import { type PartOptions, runPartAlone } from './part-alone.ts';

const COMMAND = '-c:v libx264 -preset veryfast -c:a aac -b:a 96k';
const TARGET = { metric: 'ssim', min: 0.97, max: 0.975 };

export async function measureTargetQuality({ quick, work, print }: PartOptions): Promise<void> {
  const size = quick ? '640x360' : '1280x720';
  const clip = join(work, 'target-input.mp4');
  await makeSampleClip(clip, { seconds: 120, size, rate: 25 });
  const pool = localPool();
  const fleet = await startLocalFleet({
    quiet: process.env.BENCH_VERBOSE !== '1',
    pools: [pool],
    extraEnv: { FFLEET_QUALITY_DEFAULT: 'false', FFLEET_CONCURRENCY: '1' },
  });
  try {
    const bucket = fleet.stack.bucket;
    await fleet.stack.putFile('bench/target.mp4', clip);
    const client = new GatewayClient(fleet.gatewayUrl);
    const { id } = await client.request<{ id: string }>('POST', '/v1/jobs', {
      name: 'bench-target-quality',
      compute: pool,
      inputs: [{ url: `s3://${bucket}/bench/target.mp4` }],
      outputs: [{ url: `s3://${bucket}/bench/target-out.mp4`, options: COMMAND }],
      targetQuality: TARGET,
    });
    const job = (await followToTheEnd(fleet.gatewayUrl, id)) as JobView & {
      targetQuality?: TargetQualityResult;
    };
    const t = job.targetQuality;
    if (job.state !== 'succeeded' || !t || !job.timings?.probe)
      throw new Error(`target-quality bench job failed: ${JSON.stringify(job.error)}`);
    print(
      'target_quality_input',
      `120s ${size} 25 fps h264+aac, ${COMMAND}, target ssim ${TARGET.min}–${TARGET.max}`,
    );
    print(
      'target_quality_search',
      `${t.probes.length} probes on ${t.samples?.count ?? 0} samples (${t.samples?.seconds ?? 0} s): ` +
        `${t.probes.map((p) => `${p.crf}→${p.score.toFixed(4)}`).join(' ')}; CRF ${t.crf}, score ${t.score?.toFixed(4)}, ` +
        `${t.savedPercent ?? '?'}% smaller than CRF ${t.defaultCrf} on the samples`,
    );
    print('target_quality_probe_ms', job.timings.probe);
    print('target_quality_final_encode_ms', job.timings.ffmpeg);
    print('target_quality_probe_cost', (job.timings.probe / job.timings.ffmpeg).toFixed(3));
  } finally {
    await fleet.stop();
  }
}

if (import.meta.main) await runPartAlone('target', measureTargetQuality);
