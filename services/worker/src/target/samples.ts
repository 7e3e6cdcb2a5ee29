/**
 * What a quality target's probes encode on a long input: a few short samples of it, spread
 * evenly, cut once into one lossless file, so each probe costs a few seconds of
 * encoding instead of the whole input. A short input is probed whole, and then the chosen
 * probe is the output itself.
 */

/** Seconds in one sample. */
export const SAMPLE_SECONDS = 2;
/** One sample for every this many seconds of input… */
export const SAMPLE_SPACING_SECONDS = 30;
/** …never fewer than this… */
export const MIN_SAMPLES = 3;
/** …and never more (a two-hour film is probed on 20 s of video: lossless samples of 4K are large). */
export const MAX_SAMPLES = 10;
/**
 * Samples covering more than this share of the input save too little: four probes of them
 * would cost more than the one final encode they spare. Such inputs are probed whole.
 */
export const MAX_SAMPLE_SHARE = 1 / 8;

export interface Sample {
  /** Seconds from the input's start. */
  start: number;
  duration: number;
}

/**
 * The samples for an input of `durationSeconds`, each in the middle of one of as many equal
 * parts; undefined when the input should be probed whole (short, or of unknown length).
 */
export function planSamples(durationSeconds: number | undefined): Sample[] | undefined {
  if (durationSeconds === undefined || !(durationSeconds > 0)) return undefined;
  const count = Math.min(
    MAX_SAMPLES,
    Math.max(MIN_SAMPLES, Math.floor(durationSeconds / SAMPLE_SPACING_SECONDS)),
  );
  if (count * SAMPLE_SECONDS > durationSeconds * MAX_SAMPLE_SHARE) return undefined;
  return Array.from({ length: count }, (_, i) => ({
    start: (durationSeconds * (i + 0.5)) / count - SAMPLE_SECONDS / 2,
    duration: SAMPLE_SECONDS,
  }));
}

/**
 * The ffmpeg arguments that cut the samples from the input (accurate seeking, the job's own
 * input options and hardening before each) and join them into one lossless video file,
 * without audio. `input` is what goes before every `-i`. Lossless H.264 at x264's fastest
 * preset: each probe decodes this file twice (to encode it, to measure against it), and it
 * decodes about twice as fast as FFV1 (every pool that runs CRF encoders has libx264).
 */
export function samplesArgv(
  inputPath: string,
  input: readonly string[],
  samples: readonly Sample[],
  out: string,
): string[] {
  const argv = ['-hide_banner', '-nostdin', '-y', '-nostats', '-loglevel', 'error'];
  for (const s of samples)
    argv.push('-ss', s.start.toFixed(6), '-t', s.duration.toFixed(6), ...input, '-i', inputPath);
  const chains = samples.map((_, i) => `[${i}:v:0]`).join('');
  argv.push(
    '-filter_complex',
    `${chains}concat=n=${samples.length}:v=1:a=0[v]`,
    '-map',
    '[v]',
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0'],
    ...['-f', 'matroska', out],
  );
  return argv;
}
