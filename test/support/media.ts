import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { analyseMedia, type MediaAnalysis, PROBE_PACKETS_ARGS, PROBE_STREAMS_ARGS } from '@ffleet/core';

const exec = promisify(execFile);

export { makeSampleClip } from '../../scripts/lib/sample-clip.ts';

export async function probe(file: string): Promise<{
  duration: number;
  streams: { codec_type: string; codec_name: string; width?: number; height?: number }[];
}> {
  const { stdout } = await exec('ffprobe', [
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
    exec('ffprobe', [...PROBE_STREAMS_ARGS, file]),
    exec('ffprobe', [...PROBE_PACKETS_ARGS, file], { maxBuffer: 64 * 1024 * 1024 }),
  ]);
  return analyseMedia(streams.stdout, packets.stdout);
}

/** Runs ffmpeg quietly with the given arguments (test media from lavfi sources). */
export async function ffmpeg(args: string[]): Promise<void> {
  await exec('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args]);
}

/** Runs ffmpeg with a complete argv as the worker builds it (progress on stdout is dropped). */
export async function ffmpegArgv(argv: string[], cwd?: string): Promise<void> {
  await exec('ffmpeg', ['-loglevel', 'error', ...argv], {
    maxBuffer: 64 * 1024 * 1024,
    ...(cwd ? { cwd } : {}),
  });
}

/** ffprobe's packets of one stream: presentation time, duration, keyframe. */
export async function packets(
  file: string,
  stream: string,
): Promise<{ pts: number; duration: number; key: boolean }[]> {
  const { stdout } = await exec(
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
    { maxBuffer: 64 * 1024 * 1024 },
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

/** Mean PSNR (dB) of `distorted` against `reference`, frame by frame. */
export async function psnr(reference: string, distorted: string): Promise<number> {
  const { stderr } = await exec('ffmpeg', [
    '-hide_banner',
    '-nostdin',
    ...['-i', distorted, '-i', reference],
    ...['-lavfi', '[0:v][1:v]psnr', '-f', 'null', '-'],
  ]);
  const match = /PSNR .*average:([\d.]+|inf)/.exec(stderr);
  if (!match) throw new Error(`no PSNR in ffmpeg's output: ${stderr.slice(-300)}`);
  return match[1] === 'inf' ? 100 : Number(match[1]);
}
