import { readFile, writeFile } from 'node:fs/promises';
import {
  analyseMedia,
  ffmpegOutput,
  firstFrameHdr10,
  type Hdr10Metadata,
  type MediaAnalysis,
  PROBE_FIRST_FRAME_ARGS,
  PROBE_PACKETS_ARGS,
  PROBE_STREAMS_ARGS,
  runFfmpeg,
  runFfmpegChecked,
} from '@ffleet/core';

/** Test media and probes run long on a busy machine; none should take minutes. */
const TOOL_TIMEOUT_MS = 300_000;

export { makeSampleClip } from '../../scripts/lib/sample-clip.ts';

export async function probe(file: string): Promise<{
  duration: number;
  streams: { codec_type: string; codec_name: string; width?: number; height?: number }[];
}> {
  const stdout = await ffmpegOutput('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'format=duration:stream=codec_type,codec_name,width,height',
    '-of',
    'json',
    file,
  ]);
  const parsed = JSON.parse(stdout) as { format: { duration: string }; streams: never[] };
  return { duration: Number(parsed.format.duration), streams: parsed.streams };
}

/** ffprobe's view of a file as the pipelines read it (streams, format and the first video stream's packets). */
export async function analyseFile(file: string): Promise<MediaAnalysis> {
  const [streams, packets] = await Promise.all([
    ffmpegOutput('ffprobe', [...PROBE_STREAMS_ARGS, file], { timeoutMs: TOOL_TIMEOUT_MS }),
    ffmpegOutput('ffprobe', [...PROBE_PACKETS_ARGS, file], { timeoutMs: TOOL_TIMEOUT_MS }),
  ]);
  return analyseMedia(streams, packets);
}

/** Runs ffmpeg quietly with the given arguments (test media from lavfi sources). */
export async function ffmpeg(args: string[]): Promise<void> {
  await runFfmpegChecked({
    binary: 'ffmpeg',
    argv: ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args],
    timeoutMs: TOOL_TIMEOUT_MS,
  });
}

/** A lossless SDR (BT.709, 8-bit) 1280x720 test picture at 25 fps: the master HDR clips are made from. */
export async function makeSdrMaster(file: string, seconds: number): Promise<void> {
  await ffmpeg([
    ...['-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=25:duration=${seconds}`],
    ...['-vf', 'format=yuv420p', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0'],
    ...['-color_primaries', 'bt709', '-color_trc', 'bt709', '-colorspace', 'bt709', file],
  ]);
}

/**
 * An HDR clip of an SDR master: 10-bit HEVC, BT.2020, PQ (`smpte2084`) or HLG (`arib-std-b67`),
 * SDR white placed at HDR reference white (203 cd/m²) as BT.2408 places SDR in HDR, so a faithful
 * tone mapping gives back something close to the master. `x265Params` are added to x265's own.
 */
export async function makeHdrClip(
  master: string,
  file: string,
  transfer: 'smpte2084' | 'arib-std-b67',
  x265Params = '',
): Promise<void> {
  await ffmpeg([
    ...['-i', master, '-vf'],
    'zscale=tin=bt709:pin=bt709:min=bt709:rin=tv:t=linear,format=gbrpf32le,' +
      `zscale=p=bt2020:t=${transfer}:m=bt2020nc:r=tv:npl=203,format=yuv420p10le`,
    ...['-c:v', 'libx265', '-preset', 'ultrafast', '-tag:v', 'hvc1'],
    ...['-x265-params', `log-level=error:crf=10${x265Params ? `:${x265Params}` : ''}`],
    ...['-color_primaries', 'bt2020', '-color_trc', transfer, '-colorspace', 'bt2020nc', file],
  ]);
}

/** Runs ffmpeg with a complete argv as the worker builds it (progress on stdout is dropped). */
export async function ffmpegArgv(argv: string[], cwd?: string): Promise<void> {
  await runFfmpegChecked({
    binary: 'ffmpeg',
    argv: ['-loglevel', 'error', ...argv],
    timeoutMs: TOOL_TIMEOUT_MS,
    ...(cwd ? { cwd } : {}),
  });
}

/** ffprobe's packets of one stream: presentation time, duration, keyframe. */
export async function packets(
  file: string,
  stream: string,
): Promise<{ pts: number; duration: number; key: boolean }[]> {
  const stdout = await ffmpegOutput(
    'ffprobe',
    [
      '-v',
      'error',
      '-select_streams',
      stream,
      '-show_entries',
      'packet=pts_time,duration_time,flags',
      '-of',
      'csv=p=0',
      file,
    ],
    { timeoutMs: TOOL_TIMEOUT_MS },
  );
  return stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [pts, duration, flags] = line.split(',');
      return { pts: Number(pts), duration: Number(duration), key: (flags ?? '').startsWith('K') };
    })
    .sort((a, b) => a.pts - b.pts);
}

/** Filters each side of a comparison goes through first; both then start from timestamp 0. */
export interface ComparedAs {
  distorted: string;
  reference: string;
}

/**
 * ffmpeg's summary line of a two-input comparison filter (`psnr`, `ssim`) of `distorted` against
 * `reference`, each through its filters first when `as` is given.
 */
async function compare(
  filter: 'psnr' | 'ssim',
  reference: string,
  distorted: string,
  as?: ComparedAs,
): Promise<string> {
  const graph = as
    ? `[0:v]${as.distorted},setpts=PTS-STARTPTS[a];[1:v]${as.reference},setpts=PTS-STARTPTS[b];[a][b]${filter}`
    : `[0:v][1:v]${filter}`;
  const run = await runFfmpeg({
    binary: 'ffmpeg',
    argv: ['-hide_banner', '-nostdin', '-i', distorted, '-i', reference, '-lavfi', graph, '-f', 'null', '-'],
    timeoutMs: TOOL_TIMEOUT_MS,
  });
  const stderr = run.stderrTail.join('\n');
  if (run.exitCode !== 0) throw new Error(`ffmpeg's ${filter} failed: ${stderr.slice(-300)}`);
  return stderr;
}

/** Mean PSNR (dB) of `distorted` against `reference`, frame by frame (each through its filters first, given `as`). */
export async function psnr(reference: string, distorted: string, as?: ComparedAs): Promise<number> {
  const stderr = await compare('psnr', reference, distorted, as);
  const match = /PSNR .*average:([\d.]+|inf)/.exec(stderr);
  if (!match) throw new Error(`no PSNR in ffmpeg's output: ${stderr.slice(-300)}`);
  return match[1] === 'inf' ? 100 : Number(match[1]);
}

/** Mean luma (8-bit code values) of a picture, or of a video's first frame. */
export async function meanLuma(file: string): Promise<number> {
  const run = await runFfmpeg({
    binary: 'ffmpeg',
    argv: [
      ...['-hide_banner', '-nostdin', '-i', file, '-frames:v', '1', '-vf'],
      ...['format=yuv444p,signalstats,metadata=print:key=lavfi.signalstats.YAVG', '-f', 'null', '-'],
    ],
    timeoutMs: TOOL_TIMEOUT_MS,
  });
  const stderr = run.stderrTail.join('\n');
  const match = /YAVG=([\d.]+)/.exec(stderr);
  if (run.exitCode !== 0 || !match) throw new Error(`no luma in ffmpeg's output: ${stderr.slice(-300)}`);
  return Number(match[1]);
}

/** Mean SSIM ("All") of `distorted` against `reference` over every frame. */
export async function ssim(reference: string, distorted: string): Promise<number> {
  const stderr = await compare('ssim', reference, distorted);
  const match = /SSIM .*All:([\d.]+)/.exec(stderr);
  if (!match) throw new Error(`no SSIM in ffmpeg's output: ${stderr.slice(-300)}`);
  return Number(match[1]);
}

/**
 * `file` (an MP4 of one HEVC stream, its `moov` after its `mdat`, as ffmpeg writes it by
 * default) copied to `out` with a Dolby Vision configuration record (`dvcC`) in its sample
 * entry, as a Dolby Vision encoder writes one: the stream says it is Dolby Vision of `profile`,
 * whose base layer is compatible with `compatibility` (0: none, as in profile 5; 1: HDR10; 4:
 * HLG). The pictures stay what they were: this labels a stream, it does not encode one.
 */
export async function withDolbyVisionRecord(
  file: string,
  out: string,
  dv: { profile: number; compatibility: number },
): Promise<void> {
  // DOVIDecoderConfigurationRecord: version 1.0, profile (7 bits), level (6), RPU, EL and BL
  // present flags, the base layer's compatibility id (4 bits), then reserved bits.
  const record = Buffer.alloc(24);
  record.writeUInt8(1, 0);
  record.writeUInt16BE((dv.profile << 9) | (6 << 3) | 0b101, 2);
  record.writeUInt8(dv.compatibility << 4, 4);
  await withSampleEntryBoxes(file, out, [box(dv.profile > 7 ? 'dvvC' : 'dvcC', record)]);
}

/** The HDR10 metadata of a file's first frame (HEVC's SEI, AV1's metadata OBUs), as the worker reads it. */
export async function firstFrameHdr10Of(file: string): Promise<Hdr10Metadata | undefined> {
  return firstFrameHdr10(await ffmpegOutput('ffprobe', [...PROBE_FIRST_FRAME_ARGS, file]));
}

/**
 * A mastering display with BT.2020 primaries and a 4000 cd/m² peak, as a grading monitor's, for
 * HDR10 metadata that differs from what the test clips' own streams say.
 */
export const BT2020_DISPLAY_4000: NonNullable<Hdr10Metadata['masteringDisplay']> = {
  red: [0.708, 0.292],
  green: [0.17, 0.797],
  blue: [0.131, 0.046],
  whitePoint: [0.3127, 0.329],
  maxLuminance: 4000,
  minLuminance: 0.005,
};

/**
 * `file` (as for withDolbyVisionRecord) copied to `out` with HDR10 metadata in its container:
 * the mastering display (`mdcv`) and content light level (`clli`) boxes of its sample entry,
 * which ffprobe lists as the stream's side data. The stream itself is left as it was.
 */
export async function withHdr10Boxes(
  file: string,
  out: string,
  hdr10: Required<Hdr10Metadata>,
): Promise<void> {
  const display = hdr10.masteringDisplay;
  // Chromaticities in 0.00002 steps, green, blue, red then the white point; light in 0.0001 cd/m².
  const mdcv = Buffer.alloc(24);
  [display.green, display.blue, display.red, display.whitePoint].forEach(([x, y], i) => {
    mdcv.writeUInt16BE(Math.round(x * 50_000), i * 4);
    mdcv.writeUInt16BE(Math.round(y * 50_000), i * 4 + 2);
  });
  mdcv.writeUInt32BE(Math.round(display.maxLuminance * 10_000), 16);
  mdcv.writeUInt32BE(Math.round(display.minLuminance * 10_000), 20);
  const clli = Buffer.alloc(4);
  clli.writeUInt16BE(hdr10.maxCll, 0);
  clli.writeUInt16BE(hdr10.maxFall, 2);
  await withSampleEntryBoxes(file, out, [box('mdcv', mdcv), box('clli', clli)]);
}

/** `file` copied to `out` with `boxes` appended to its HEVC sample entry (`hvc1`). */
async function withSampleEntryBoxes(file: string, out: string, boxes: Buffer[]): Promise<void> {
  const mp4 = await readFile(file);
  const added = Buffer.concat(boxes);
  // The boxes down to the sample entry, each of which grows by the new boxes.
  const path = ['moov', 'trak', 'mdia', 'minf', 'stbl', 'stsd', 'hvc1'];
  const chain: number[] = [];
  let start = 0;
  let end = mp4.length;
  for (const type of path) {
    let at = start;
    while (at < end && mp4.toString('latin1', at + 4, at + 8) !== type) at += mp4.readUInt32BE(at);
    if (at >= end) throw new Error(`${file}: no ${path.slice(0, chain.length + 1).join('/')} box`);
    chain.push(at);
    // Children start after the header; stsd has a version and count first, a sample entry 78 bytes of fields.
    start = at + 8 + (type === 'stsd' ? 8 : type === 'hvc1' ? 78 : 0);
    end = at + mp4.readUInt32BE(at);
  }
  if (mp4.indexOf('mdat', 0, 'latin1') > chain[0]!) throw new Error(`${file}: moov before mdat`);
  const grown = Buffer.concat([mp4.subarray(0, end), added, mp4.subarray(end)]);
  for (const at of chain) grown.writeUInt32BE(grown.readUInt32BE(at) + added.length, at);
  await writeFile(out, grown);
}

function box(type: string, body: Buffer): Buffer {
  return Buffer.concat([boxHeader(8 + body.length, type), body]);
}

function boxHeader(size: number, type: string): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(size, 0);
  header.write(type, 4, 'latin1');
  return header;
}
