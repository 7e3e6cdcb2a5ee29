import { ffmpegOutput } from '@ffleet/core';

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
