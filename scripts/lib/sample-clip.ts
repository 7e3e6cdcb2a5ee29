import { ffmpegOutput } from '@ffleet/core';

/**
 * A sample clip made by ffmpeg's lavfi sources (nothing downloaded, nothing committed): a
 * colour test pattern with a moving counter and a sine tone, H.264 + AAC in MP4, with a
 * keyframe every two seconds. Used by the demo, the benchmarks and the tests.
 */
export async function makeSampleClip(
  file: string,
  opts: { seconds?: number; size?: string; rate?: number; preset?: string } = {},
): Promise<void> {
  const { seconds = 6, size = '1280x720', rate = 25, preset = 'ultrafast' } = opts;
  await ffmpegOutput(
    'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-y'],
      ...['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${rate}`],
      ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
      ...[
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
      ],
      ...['-c:a', 'aac', '-b:a', '96k', '-shortest', file],
    ],
    { timeoutMs: 600_000 },
  );
}
