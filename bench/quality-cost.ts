/**
 * What quality measurement costs a job, and what sampling gives up: the same transcode run
 * as jobs on one fleet, alternately with the fleet's default measurement (sampled) and with
 * `quality: {"mode": "full"}`. The cost is each job's own quality stage ÷ its ffmpeg stage
 * (median over runs); the accuracy is the sampled job's mean PSNR and SSIM against the full
 * job's, on the same pair: both encode the same input with the same command, and their
 * outputs are checked to be byte for byte the same. Beside them, the floor of any measurement
 * that looks at the frames of both files: ffmpeg decoding the pair and doing nothing else.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GatewayClient, type JobView } from '@ffleet/cli';
import { ffmpegOutput, isFinishedState, type QualitySummary } from '@ffleet/core';
import { startLocalFleet } from '../scripts/lib/local-fleet.ts';
import { makeSampleClip } from '../scripts/lib/sample-clip.ts';
import { E2E_COMMAND, e2eClip } from './e2e-job.ts';
import { median } from './median.ts';

type QualityJob = JobView & {
  quality: QualitySummary | null;
  timings: (JobView['timings'] & { quality?: number }) | null;
};

export async function measureQualityCost(options: {
  client: GatewayClient;
  pool: string;
  /** The input, already in the fleet's bucket. */
  input: string;
  /** Where outputs go: `<outputPrefix><n>.mp4`. */
  outputPrefix: string;
  command: string;
  runs: number;
  /** Where an object of the fleet's S3 is on this machine (a local fleet keeps objects as files). */
  localPath: (url: string) => string;
  print: (name: string, value: string | number) => void;
}): Promise<void> {
  const { client, runs, print } = options;
  let n = 0;
  const job = async (quality: true | { mode: 'full' }): Promise<QualityJob> => {
    const { id } = await client.request<{ id: string }>('POST', '/v1/jobs', {
      name: 'bench-quality',
      compute: options.pool,
      quality,
      inputs: [{ url: options.input }],
      outputs: [{ url: `${options.outputPrefix}${n++}.mp4`, options: options.command }],
    });
    let view: QualityJob;
    for (;;) {
      view = await client.request<QualityJob>('GET', `/v1/jobs/${id}`);
      if (isFinishedState(view.state)) break;
      await sleep(500);
    }
    if (view.state !== 'succeeded') throw new Error(`bench job failed: ${JSON.stringify(view.error)}`);
    if (view.quality?.status !== 'measured') throw new Error(`quality not measured: ${view.quality?.reason}`);
    return view;
  };
  const decodeOnly = async (output: string): Promise<number> => {
    const started = performance.now();
    const pair = ['-i', options.localPath(output), '-i', options.localPath(options.input)];
    await ffmpegOutput(
      'ffmpeg',
      ['-nostdin', '-v', 'error', ...pair, '-map', '0:v:0', '-map', '1:v:0', '-f', 'null', '-'],
      {
        timeoutMs: 600_000,
      },
    );
    return performance.now() - started;
  };

  const sampled: QualityJob[] = [];
  const full: QualityJob[] = [];
  const decode: number[] = [];
  for (let run = 0; run < runs; run++) {
    // Alternate which goes first, so machine drift hits both alike.
    for (const mode of run % 2 === 0 ? (['sampled', 'full'] as const) : (['full', 'sampled'] as const)) {
      if (mode === 'sampled') sampled.push(await job(true));
      else full.push(await job({ mode: 'full' }));
    }
    decode.push(await decodeOnly(sampled.at(-1)!.outputs![0]!.url));
  }
  const [s, f] = [sampled[0]!, full[0]!];
  const [sampledBytes, fullBytes] = [s, f].map((j) => digest(options.localPath(j.outputs![0]!.url)));
  if ((await sampledBytes) !== (await fullBytes))
    throw new Error('the sampled and full jobs wrote different outputs: not the same pair');

  const ratio = (j: QualityJob) => j.timings!.quality! / j.timings!.ffmpeg;
  const ffmpegMs = median([...sampled, ...full].map((j) => j.timings!.ffmpeg));
  print('quality_input', `${options.input}, command: ${options.command}, ${runs} runs of each mode`);
  const how = s.quality!.windows ? `${s.quality!.windows} windows` : `1 frame in ${s.quality!.subsample}`;
  print('quality_mode_default', `${s.quality!.mode}, ${how}`);
  print('quality_frames_sampled', s.quality!.frames!);
  print('quality_frames_full', f.quality!.frames!);
  print('quality_ffmpeg_ms', Math.round(ffmpegMs));
  print('quality_sampled_ms', Math.round(median(sampled.map((j) => j.timings!.quality!))));
  print('quality_full_ms', Math.round(median(full.map((j) => j.timings!.quality!))));
  print('quality_decode_only_ms', Math.round(median(decode)));
  print('quality_decode_floor_ratio', round(median(decode) / ffmpegMs));
  print('quality_full_cost_ratio', round(median(full.map(ratio))));
  print('quality_cost_ratio', round(median(sampled.map(ratio))));
  print('quality_sampled_psnr_delta_db', round(Math.abs(s.quality!.psnr! - f.quality!.psnr!), 4));
  print('quality_sampled_ssim_delta', round(Math.abs(s.quality!.ssim! - f.quality!.ssim!), 5));
}

async function digest(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

/** The file behind an object of a local fleet's S3. */
export function localObjectPath(dataDir: string, url: string): string {
  return join(dataDir, 's3', url.replace(/^s3:\/\//, ''));
}

const round = (n: number, digits = 3) => Number(n.toFixed(digits));

/**
 * `node bench/quality-cost.ts`: this part alone, on a fleet of its own, with the input and the
 * command of `make bench`'s end-to-end job. BENCH_QUICK=1 shortens it.
 */
if (import.meta.main) {
  const quick = process.env.BENCH_QUICK === '1';
  const print = (name: string, value: string | number) => process.stdout.write(`${name}: ${value}\n`);
  const work = await mkdtemp(join(tmpdir(), 'ffleet-bench-quality-'));
  const fleet = await startLocalFleet({ quiet: true, extraEnv: { FFLEET_QUALITY_DEFAULT: 'false' } });
  try {
    const clip = join(work, 'input.mp4');
    await makeSampleClip(clip, e2eClip(quick));
    const { stack } = fleet;
    await stack.putFile('bench/input.mp4', clip);
    print('machine_cores', (await import('node:os')).availableParallelism());
    await measureQualityCost({
      client: new GatewayClient(fleet.gatewayUrl),
      pool: fleet.pools[0]!,
      input: `s3://${stack.bucket}/bench/input.mp4`,
      outputPrefix: `s3://${stack.bucket}/bench/quality-`,
      command: E2E_COMMAND,
      runs: quick ? 1 : 3,
      localPath: (url) => localObjectPath(stack.dataDir, url),
      print,
    });
  } finally {
    await fleet.stop();
    await rm(work, { recursive: true, force: true });
  }
}
