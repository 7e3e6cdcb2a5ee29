/** The end-to-end job of `make bench`: a 30 s 1080p clip (5 s with BENCH_QUICK=1) transcoded to 720p. */
export const E2E_COMMAND = '-vf scale=-2:720 -c:v libx264 -preset veryfast -crf 23 -c:a copy';

export function e2eClip(quick: boolean) {
  return { seconds: quick ? 5 : 30, size: '1920x1080', rate: 30, preset: 'veryfast' };
}
