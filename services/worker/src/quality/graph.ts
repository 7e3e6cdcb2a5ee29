import { DEINTERLACE_FILTER, type HdrColour, toneMapFilter } from '@ffleet/core';
import type { VideoInfo } from './probe.ts';

/** Files the filters write, relative to the directory ffmpeg runs in. */
export const STATS_FILES = { psnr: 'psnr.log', ssim: 'ssim.log', vmaf: 'vmaf.json' } as const;

/** The stats files of the w-th window (from 0). */
export function windowStatsFiles(w: number): { psnr: string; ssim: string; vmaf: string } {
  return { psnr: `psnr-${w}.log`, ssim: `ssim-${w}.log`, vmaf: `vmaf-${w}.json` };
}

/** What the graph needs of each video: its frames' size, pixel format, whether they are fields, and HDR colour. */
export type FrameFormat = Pick<VideoInfo, 'width' | 'height' | 'pixFmt'> & {
  interlaced?: boolean;
  hdr?: HdrColour;
};

/**
 * An interlaced reference is deinterlaced before an output that is not is compared with it, as
 * the encode that made the output did: woven fields hold two moments, a progressive frame one.
 */
export function deinterlacesReference(options: Pick<GraphOptions, 'distorted' | 'reference'>): boolean {
  return Boolean(options.reference.interlaced && !options.distorted.interlaced);
}

/**
 * An HDR reference of an SDR output is tone-mapped before they are compared, as a ladder's
 * rungs and previews are made from it: the colour the reference has then, or undefined.
 */
export function toneMapsReference(
  options: Pick<GraphOptions, 'distorted' | 'reference'>,
): HdrColour | undefined {
  return options.distorted.hdr ? undefined : options.reference.hdr;
}

export interface GraphOptions {
  distorted: FrameFormat;
  reference: FrameFormat;
  vmaf: boolean;
  /** libvmaf threads; 0 lets it decide. */
  vmafThreads?: number;
  /** Compare every n-th frame of the output (1: every frame). */
  subsample?: number;
}

/**
 * One filter graph for all metrics, over the two whole files. Input 0 is the distorted output
 * and input 1 the reference, the order the psnr/ssim/libvmaf filters expect. The output is
 * scaled (bicubic) to the reference's size and converted to its pixel format when they differ,
 * an interlaced reference deinterlaced for a progressive output, an HDR one tone-mapped for an
 * SDR output; both start at timestamp 0 so trimmed outputs line up frame by frame, and the
 * comparison ends with the shorter of the two (an output cut with `-t` is not compared against
 * the rest of the input). The stats files are relative names: ffmpeg runs in the job's quality
 * directory, so no path needs filter-graph escaping.
 *
 * Sampling keeps every n-th output frame (`framestep`) before any scaling. Each filter pairs an
 * output frame with the reference frame shown at the same time, so every kept pair is the very
 * pair the full measurement compares, on both sides, whatever the two frame rates. libvmaf
 * sees every frame and samples itself (`n_subsample`): its motion feature needs neighbours.
 */
export function qualityFilterGraph(options: GraphOptions): string {
  return comparison(options, {
    distorted: '[0:v:0]',
    reference: '[1:v:0]',
    // Both from 0: the first frames line up.
    align: { distorted: 'PTS-STARTPTS', reference: 'PTS-STARTPTS' },
    files: STATS_FILES,
    tag: '',
  });
}

/** One window of a windowed measurement, as its two inputs see it (see `windowArgv`). */
export interface GraphWindow {
  /** Index of the window among all of the job's (its stats files' number). */
  index: number;
  /** Seconds the reference's window starts before the output's. */
  lead: number;
}

/**
 * The filter graph of a batch of windows: window i of the batch reads inputs 2i (the output's
 * window) and 2i+1 (the reference's), each cut by accurate seeking, and writes its own stats
 * files. Both inputs' timestamps count from the window's start; the reference's window starts
 * `lead` seconds earlier so that the output's first frame finds the reference frame shown at
 * its time, as in the full measurement, even when that frame came just before the window.
 * Every frame of a window is compared (VMAF too, with the window's own motion history).
 */
export function windowsFilterGraph(options: Omit<GraphOptions, 'subsample'>, windows: GraphWindow[]): string {
  return windows
    .map((window, i) =>
      comparison(options, {
        distorted: `[${2 * i}:v:0]`,
        reference: `[${2 * i + 1}:v:0]`,
        align: { distorted: 'PTS', reference: `PTS-${seconds(window.lead)}/TB` },
        files: windowStatsFiles(window.index),
        tag: `w${i}`,
      }),
    )
    .join(';');
}

/** The chains of one comparison: distorted and reference prepared, then psnr, ssim and maybe libvmaf. */
function comparison(
  options: GraphOptions,
  c: {
    distorted: string;
    reference: string;
    align: { distorted: string; reference: string };
    files: { psnr: string; ssim: string; vmaf: string };
    /** Makes the link labels of this comparison unique in a graph of several. */
    tag: string;
  },
): string {
  const { distorted, reference } = options;
  const subsample = options.subsample ?? 1;
  const sample = subsample > 1 ? [`framestep=${subsample}`] : [];
  const toneMap = toneMapsReference(options);
  // A tone-mapped reference is 8-bit 4:2:0 whatever the source's format.
  const referencePixFmt = toneMap ? 'yuv420p' : reference.pixFmt;
  const prepare: string[] = [];
  if (distorted.width !== reference.width || distorted.height !== reference.height) {
    prepare.push(`scale=${reference.width}:${reference.height}:flags=bicubic`);
  }
  if (distorted.pixFmt !== referencePixFmt && /^[a-z0-9_]+$/.test(referencePixFmt)) {
    prepare.push(`format=${referencePixFmt}`);
  }
  // The reference as the output's encode saw it: fields made frames, HDR made SDR.
  const asEncoded = [
    ...(deinterlacesReference(options) ? [DEINTERLACE_FILTER] : []),
    ...(toneMap ? [toneMapFilter(toneMap)] : []),
  ];
  const align = (expression: string) => `settb=AVTB,setpts=${expression}`;
  const sync = 'shortest=1';
  const [d0, d1, r0, r1] = ['d0', 'd1', 'r0', 'r1'].map((label) => `[${label}${c.tag}]`);
  const chains = options.vmaf
    ? [
        `${c.distorted}${[...prepare, align(c.align.distorted)].join(',')},split=2[dv${c.tag}][dq${c.tag}]`,
        `[dq${c.tag}]${[...sample, 'split=2'].join(',')}${d0}${d1}`,
        `${c.reference}${[...asEncoded, align(c.align.reference)].join(',')},split=3${r0}${r1}[r2${c.tag}]`,
        `[dv${c.tag}][r2${c.tag}]libvmaf=log_fmt=json:log_path=${c.files.vmaf}:n_threads=${options.vmafThreads ?? 0}:n_subsample=${subsample}:${sync}`,
      ]
    : [
        `${c.distorted}${[...sample, ...prepare, align(c.align.distorted)].join(',')},split=2${d0}${d1}`,
        `${c.reference}${[...asEncoded, align(c.align.reference)].join(',')},split=2${r0}${r1}`,
      ];
  chains.push(
    `${d0}${r0}psnr=stats_file=${c.files.psnr}:${sync}`,
    `${d1}${r1}ssim=stats_file=${c.files.ssim}:${sync}`,
  );
  return chains.join(';');
}

/** Seconds as ffmpeg options and expressions take them: plain decimals, microsecond precision. */
export function seconds(value: number): string {
  return value.toFixed(6);
}

/**
 * The whole ffmpeg command line; only file inputs, no stdin, output discarded. `inputOptions`
 * go before each input (the pool's decoder thread cap).
 */
export function qualityArgv(
  distortedPath: string,
  referencePath: string,
  graph: string,
  inputOptions: string[] = [],
): string[] {
  const input = (path: string) => ['-protocol_whitelist', 'file', ...inputOptions, '-i', path];
  return [
    ...['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info'],
    ...input(distortedPath),
    ...input(referencePath),
    ...['-filter_complex', graph, '-an', '-f', 'null', '-'],
  ];
}

/** One window of each file, cut by accurate input seeking (`-ss`/`-t` before `-i`). */
export interface InputWindow {
  /** Where the output's window starts, as `-ss` counts: seconds from the output file's start. */
  distortedStart: number;
  /** Where the reference's window starts, as `-ss` counts in the reference file. */
  referenceStart: number;
  /** Seconds of output to read. */
  distortedDuration: number;
  /** Seconds of reference to read (its window starts earlier by the graph's `lead`). */
  referenceDuration: number;
}

/**
 * The command line of a batch of windows: per window, the output's and the reference's
 * window as two inputs, each decoded from the keyframe before its start; then the graph.
 * `inputOptions` go before each input (the pool's decoder thread cap).
 */
export function windowArgv(
  distortedPath: string,
  referencePath: string,
  windows: InputWindow[],
  graph: string,
  inputOptions: string[] = [],
): string[] {
  const input = (start: number, duration: number, path: string) => [
    '-protocol_whitelist',
    'file',
    ...inputOptions,
    '-ss',
    seconds(start),
    '-t',
    seconds(duration),
    '-i',
    path,
  ];
  return [
    ...['-hide_banner', '-nostdin', '-nostats', '-loglevel', 'info'],
    ...windows.flatMap((w) => [
      ...input(w.distortedStart, w.distortedDuration, distortedPath),
      ...input(w.referenceStart, w.referenceDuration, referencePath),
    ]),
    ...['-filter_complex', graph, '-an', '-f', 'null', '-'],
  ];
}
