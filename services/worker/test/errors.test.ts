import {
  FfleetError,
  InputMissingError,
  InvalidJobError,
  StorageAccessError,
  UnsafeJobError,
} from '@ffleet/core';
import { describe, expect, it } from 'vitest';
import {
  describeFailure,
  FfmpegFailedError,
  isPermanent,
  JobCancelledError,
  JobTimeoutError,
  OutputTooLargeError,
  ResourceLimitError,
  ShutdownError,
} from '../src/pipeline/errors.ts';

describe('a failure', () => {
  it.each([
    [new UnsafeJobError('-i inside options'), 'unsafe_job'],
    [new InvalidJobError('no outputs'), 'invalid_job'],
    [new FfleetError('unknown_pool', 'no such pool'), 'unknown_pool'],
    [new InputMissingError('s3://in/a.mp4'), 'input_missing'],
    [new StorageAccessError('access denied to s3://in/a.mp4'), 'storage_access'],
    [new FfmpegFailedError(1, ['Invalid data found when processing input']), 'ffmpeg_failed'],
    [new JobTimeoutError(60, ['frame=  10']), 'timeout'],
    [new OutputTooLargeError(1024 * 1024 * 1024), 'output_too_large'],
    [new JobCancelledError(), 'cancelled'],
    [new ResourceLimitError('memory limit (FFLEET_FFMPEG_MEMORY_MB, 1024 MiB)', []), 'resource_limit'],
  ])('%s is permanent, with code %s', (error, code) => {
    expect(isPermanent(error)).toBe(true);
    expect(describeFailure(error)).toMatchObject({ code, message: error.message });
  });

  it('says what ffmpeg printed last when ffmpeg failed or ran out of time', () => {
    expect(describeFailure(new FfmpegFailedError(1, ['a', 'b']))).toEqual({
      code: 'ffmpeg_failed',
      message: 'ffmpeg exited with code 1: b',
      stderr: ['a', 'b'],
      exitCode: 1,
    });
    expect(describeFailure(new JobTimeoutError(5, ['frame=1']))).toEqual({
      code: 'timeout',
      message: "ffmpeg ran longer than the job's timeout of 5s and was killed",
      stderr: ['frame=1'],
    });
    expect(describeFailure(new InputMissingError('s3://in/a.mp4'))).toEqual({
      code: 'input_missing',
      message: 'input not found: s3://in/a.mp4',
    });
  });

  it('is transient and retried unless it says otherwise', () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    for (const error of [new Error('S3 said 503'), reset, 'a string', undefined, new ShutdownError()]) {
      expect(isPermanent(error)).toBe(false);
    }
    expect(describeFailure(reset)).toEqual({ code: 'transient', message: 'read ECONNRESET' });
    expect(describeFailure('a string')).toEqual({ code: 'transient', message: 'a string' });
    // A gateway-side fault (5xx) is worth another try.
    expect(isPermanent(new FfleetError('unavailable', 'try later', 503))).toBe(false);
  });
});
