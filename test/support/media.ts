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
