import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HARDWARE_ENCODER, probeCapabilities } from '../src/ffmpeg/probe.ts';

// Runs the real ffmpeg of this machine. Which hardware is present is read from /dev, so the
// test states what must be detected here rather than assuming a machine without accelerators.
const hasNvidiaGpu = existsSync('/dev/nvidia0');
const hasRenderNode = existsSync('/dev/dri/renderD128');

// Each case starts a dozen ffmpeg processes: on a busy machine that takes more than 5 s.
describe('the capability probe', { timeout: 30_000 }, () => {
  it('lists software encoders and never claims hardware that does not open here', async () => {
    const caps = await probeCapabilities('ffmpeg', [
      'libx264',
      'aac',
      'h264_nvenc',
      'hevc_nvenc',
      'h264_vaapi',
    ]);
    expect(caps.ffmpegVersion).not.toBe('unknown');
    expect(caps.encoders).toContain('libx264');
    expect(caps.encoders).toContain('aac');
    expect(caps.filters).toContain('scale');
    // Built-in is not the same as usable.
    expect(caps.builtInHwaccels.length).toBeGreaterThan(0);
    for (const encoder of caps.encoders.filter((e) => HARDWARE_ENCODER.test(e))) {
      expect(['h264_nvenc', 'hevc_nvenc', 'h264_vaapi']).toContain(encoder);
    }
    if (!hasNvidiaGpu) {
      expect(caps.encoders).not.toContain('h264_nvenc');
      expect(caps.hwaccels).not.toContain('cuda');
      expect(caps.unusable.h264_nvenc).toBeTruthy();
    }
    if (!hasRenderNode) {
      expect(caps.hwaccels).not.toContain('vaapi');
      expect(caps.encoders).not.toContain('h264_vaapi');
    }
  });

  it('tries only the hardware encoders the pool expects', async () => {
    const caps = await probeCapabilities('ffmpeg', ['libx264']);
    expect(Object.keys(caps.unusable).some((name) => HARDWARE_ENCODER.test(name))).toBe(false);
    expect(caps.encoders.some((e) => HARDWARE_ENCODER.test(e))).toBe(false);
  });
});
