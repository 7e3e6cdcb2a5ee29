import type { VideoInfo } from './probe.ts';

/** Files the filters write, relative to the directory ffmpeg runs in. */
export const STATS_FILES = { psnr: 'psnr.log', ssim: 'ssim.log', vmaf: 'vmaf.json' } as const;

export interface GraphOptions {
  distorted: VideoInfo;
  reference: VideoInfo;
  vmaf: boolean;
  /** libvmaf threads; 0 lets it decide. */
  vmafThreads?: number;
  /** Compare every n-th frame of the output (1: every frame). */
  subsample?: number;
}

/**
 * One filter graph for all metrics. Input 0 is the distorted output and input 1 the reference,
 * the order the psnr/ssim/libvmaf filters expect. The output is scaled (bicubic) to the
 * reference's size and converted to its pixel format when they differ; both start at
 * timestamp 0 so trimmed outputs line up frame by frame, and the comparison ends with the
 * shorter of the two (an output cut with `-t` is not compared against the rest of the input).
 * The stats files are relative names: ffmpeg runs in the job's quality directory, so no path
 * needs filter-graph escaping.
 *
 * Sampling keeps every n-th output frame (`framestep`) before any scaling. Each filter pairs an
 * output frame with the reference frame shown at the same time, so every kept pair is the very
 * pair the full measurement compares, on both sides, whatever the two frame rates. libvmaf
 * sees every frame and samples itself (`n_subsample`): its motion feature needs neighbours.
 */
export function qualityFilterGraph(options: GraphOptions): string {
  const { distorted, reference } = options;
  const subsample = options.subsample ?? 1;
  const sample = subsample > 1 ? [`framestep=${subsample}`] : [];
  const prepare: string[] = [];
  if (distorted.width !== reference.width || distorted.height !== reference.height) {
    prepare.push(`scale=${reference.width}:${reference.height}:flags=bicubic`);
  }
  if (distorted.pixFmt !== reference.pixFmt && /^[a-z0-9_]+$/.test(reference.pixFmt)) {
    prepare.push(`format=${reference.pixFmt}`);
  }
  const align = 'settb=AVTB,setpts=PTS-STARTPTS';
  const sync = 'shortest=1';
  const chains = options.vmaf
    ? [
        `[0:v:0]${[...prepare, align].join(',')},split=2[dv][dq]`,
        `[dq]${[...sample, 'split=2'].join(',')}[d0][d1]`,
        `[1:v:0]${align},split=3[r0][r1][r2]`,
        `[dv][r2]libvmaf=log_fmt=json:log_path=${STATS_FILES.vmaf}:n_threads=${options.vmafThreads ?? 0}:n_subsample=${subsample}:${sync}`,
      ]
    : [
        `[0:v:0]${[...sample, ...prepare, align].join(',')},split=2[d0][d1]`,
        `[1:v:0]${align},split=2[r0][r1]`,
      ];
  chains.push(
    `[d0][r0]psnr=stats_file=${STATS_FILES.psnr}:${sync}`,
    `[d1][r1]ssim=stats_file=${STATS_FILES.ssim}:${sync}`,
  );
  return chains.join(';');
}

/** The whole ffmpeg command line; only file inputs, no stdin, output discarded. */
export function qualityArgv(distortedPath: string, referencePath: string, graph: string): string[] {
  return [
    '-hide_banner',
    '-nostdin',
    '-nostats',
    '-loglevel',
    'info',
    '-protocol_whitelist',
    'file',
    '-i',
    distortedPath,
    '-protocol_whitelist',
    'file',
    '-i',
    referencePath,
    '-filter_complex',
    graph,
    '-an',
    '-f',
    'null',
    '-',
  ];
}
