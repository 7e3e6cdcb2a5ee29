import type { VideoInfo } from './probe.ts';

/** Files the filters write, relative to the directory ffmpeg runs in. */
export const STATS_FILES = { psnr: 'psnr.log', ssim: 'ssim.log', vmaf: 'vmaf.json' } as const;

export interface GraphOptions {
  distorted: VideoInfo;
  reference: VideoInfo;
  vmaf: boolean;
  /** libvmaf threads; 0 lets it decide. */
  vmafThreads?: number;
}

/**
 * One filter graph for all metrics. Input 0 is the distorted output and input 1 the reference,
 * the order the psnr/ssim/libvmaf filters expect. The output is scaled (bicubic) to the
 * reference's size and converted to its pixel format when they differ; both start at
 * timestamp 0 so trimmed outputs line up frame by frame. The stats files are relative names:
 * ffmpeg runs in the job's quality directory, so no path needs filter-graph escaping.
 */
export function qualityFilterGraph(options: GraphOptions): string {
  const { distorted, reference } = options;
  const metrics = options.vmaf ? 3 : 2;
  const prepare: string[] = [];
  if (distorted.width !== reference.width || distorted.height !== reference.height) {
    prepare.push(`scale=${reference.width}:${reference.height}:flags=bicubic`);
  }
  if (distorted.pixFmt !== reference.pixFmt && /^[a-z0-9_]+$/.test(reference.pixFmt)) {
    prepare.push(`format=${reference.pixFmt}`);
  }
  const align = 'settb=AVTB,setpts=PTS-STARTPTS';
  const labels = (prefix: string) => Array.from({ length: metrics }, (_, i) => `[${prefix}${i}]`).join('');
  const chains = [
    `[0:v:0]${[...prepare, align].join(',')},split=${metrics}${labels('d')}`,
    `[1:v:0]${align},split=${metrics}${labels('r')}`,
    `[d0][r0]psnr=stats_file=${STATS_FILES.psnr}`,
    `[d1][r1]ssim=stats_file=${STATS_FILES.ssim}`,
  ];
  if (options.vmaf) {
    chains.push(
      `[d2][r2]libvmaf=log_fmt=json:log_path=${STATS_FILES.vmaf}:n_threads=${options.vmafThreads ?? 0}`,
    );
  }
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
