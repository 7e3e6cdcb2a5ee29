import type { FfmpegLimits, FfmpegRunResult } from '@ffleet/core';
import { describe, expect, it } from 'vitest';
import { inputDurationFailure, limitFailure } from '../src/ffmpeg/limits.ts';
import { describeFailure, isPermanent } from '../src/pipeline/errors.ts';

const limits: FfmpegLimits = {
  memoryBytes: 1024 << 20,
  maxAllocBytes: 512 << 20,
  threads: 2,
  maxOutputPixels: 8_294_400,
};
const run = (over: Partial<FfmpegRunResult>): FfmpegRunResult => ({
  exitCode: 1,
  signal: null,
  stderrTail: [],
  stdout: '',
  durationMs: 10,
  ...over,
});

describe('limitFailure', () => {
  it('names the output frame size and both sizes when an encoder refused a frame over -max_pixels', () => {
    const error = limitFailure(
      run({
        stderrTail: [
          '[libx264 @ 0x55] [IMGUTILS @ 0x7f] Picture size 8000x8000 exceeds specified max pixel count 8294400, see the documentation if you wish to increase it',
          'Error while opening encoder for output stream #0:0 - maybe incorrect parameters such as bit_rate, rate, width or height',
        ],
      }),
      limits,
    );
    expect(error?.message).toBe(
      "the output frame size 8000×8000 (64000000 pixels) is over the pool's output frame size limit of 8294400 pixels (FFLEET_MAX_OUTPUT_PIXELS); ffmpeg was stopped",
    );
    expect(isPermanent(error)).toBe(true);
    expect(describeFailure(error)).toMatchObject({ code: 'resource_limit', stderr: expect.any(Array) });
  });

  it('names the memory limits when an allocation failed or a library aborted', () => {
    for (const failed of [
      run({ stderrTail: ['Error while filtering: Cannot allocate memory'] }),
      run({ exitCode: null, signal: 'SIGABRT' }),
    ]) {
      expect(limitFailure(failed, limits)?.message).toBe(
        "ffmpeg went over the pool's memory limit (FFLEET_FFMPEG_MEMORY_MB, 1024 MiB) or largest allocation (FFLEET_FFMPEG_MAX_ALLOC_MB, 512 MiB; it bounds a frame's size) and was stopped",
      );
    }
    expect(limitFailure(run({ signal: 'SIGABRT' }), { ...limits, memoryBytes: 0 })?.message).not.toMatch(
      /FFLEET_FFMPEG_MEMORY_MB/,
    );
  });

  it('leaves other failures, successes, stops and unlimited pools alone', () => {
    expect(
      limitFailure(run({ stderrTail: ['Invalid data found when processing input'] }), limits),
    ).toBeUndefined();
    expect(
      limitFailure(run({ exitCode: 0, stderrTail: ['Cannot allocate memory'] }), limits),
    ).toBeUndefined();
    expect(limitFailure(run({ stoppedBy: 'timeout', signal: 'SIGKILL' }), limits)).toBeUndefined();
    const none = { memoryBytes: 0, maxAllocBytes: 0, threads: 0, maxOutputPixels: 0 };
    expect(
      limitFailure(run({ stderrTail: ['Picture size 8000x8000 exceeds specified max pixel count 1'] }), none),
    ).toBeUndefined();
    expect(limitFailure(run({ signal: 'SIGABRT' }), none)).toBeUndefined();
  });
});

describe('inputDurationFailure', () => {
  it('names the first input over the limit, its duration and the limit', () => {
    expect(inputDurationFailure([4, 61.25], 60)?.message).toBe(
      "inputs[1] lasts 61.3 s, over the pool's input duration limit of 60 s (FFLEET_MAX_INPUT_SECONDS)",
    );
  });

  it('passes inputs within the limit, of unknown duration, and pools without a limit', () => {
    expect(inputDurationFailure([60, undefined], 60)).toBeUndefined();
    expect(inputDurationFailure([7200], 0)).toBeUndefined();
  });
});
