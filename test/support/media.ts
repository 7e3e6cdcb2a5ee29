import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/**
 * Test media made by ffmpeg's lavfi sources (nothing downloaded, nothing committed):
 * a colour test pattern with a counter and a sine tone.
 */
export async function makeSampleClip(
  file: string,
  opts: { seconds?: number; size?: string; rate?: number; preset?: string } = {},
): Promise<void> {
  const { seconds = 6, size = '1280x720', rate = 25, preset = 'ultrafast' } = opts;
  await exec('ffmpeg', [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${size}:rate=${rate}`,
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-t',
    String(seconds),
    '-c:v',
    'libx264',
    '-preset',
    preset,
    '-g',
    String(rate * 2),
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-b:a',
    '96k',
    '-shortest',
    file,
  ]);
}

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
