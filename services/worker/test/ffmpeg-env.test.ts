import { describe, expect, it } from 'vitest';
import { ffmpegEnvironment } from '../src/ffmpeg/run.ts';

describe("ffmpeg's environment", () => {
  it('holds only PATH by default, never credentials', () => {
    const env = ffmpegEnvironment({
      PATH: '/usr/bin',
      AWS_SECRET_ACCESS_KEY: 's',
      REDIS_URL: 'redis://x',
      HOME: '/root',
    });
    expect(env).toEqual({ PATH: '/usr/bin' });
  });

  it('passes through the variables FFLEET_FFMPEG_ENV names, but never secrets', () => {
    const env = ffmpegEnvironment({
      PATH: '/usr/bin',
      FFLEET_FFMPEG_ENV: 'XILINX_XRT, XRM_DEVICE_ID,AWS_SECRET_ACCESS_KEY,API_TOKEN,lower,MISSING',
      XILINX_XRT: '/opt/xilinx/xrt',
      XRM_DEVICE_ID: '0',
      AWS_SECRET_ACCESS_KEY: 's',
      API_TOKEN: 't',
      lower: 'x',
    });
    expect(env).toEqual({ PATH: '/usr/bin', XILINX_XRT: '/opt/xilinx/xrt', XRM_DEVICE_ID: '0' });
  });
});
