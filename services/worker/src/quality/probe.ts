import { ffmpegOutput } from '@ffleet/core';

export interface MetricAvailability {
  psnr: boolean;
  ssim: boolean;
  vmaf: { available: true } | { available: false; reason: string };
}

const availability = new Map<string, Promise<MetricAvailability>>();

/** Which quality filters this ffmpeg has (`ffmpeg -filters`), probed once per binary. */
export function probeQualityFilters(ffmpegPath: string): Promise<MetricAvailability> {
  let probe = availability.get(ffmpegPath);
  if (!probe) {
    probe = ffmpegOutput(ffmpegPath, ['-hide_banner', '-filters']).then(availabilityFromFilterList);
    // A failed probe is not cached: the next job tries again.
    probe.catch(() => availability.delete(ffmpegPath));
    availability.set(ffmpegPath, probe);
  }
  return probe;
}

export function availabilityFromFilterList(filterList: string): MetricAvailability {
  // Lines look like ` TS. psnr              VV->V      Calculate the PSNR ...`.
  const names = new Set(
    filterList
      .split('\n')
      .map((line) => line.trim().split(/\s+/)[1])
      .filter((name): name is string => Boolean(name)),
  );
  return {
    psnr: names.has('psnr'),
    ssim: names.has('ssim'),
    vmaf: names.has('libvmaf')
      ? { available: true }
      : {
          available: false,
          reason: 'this ffmpeg build has no libvmaf filter (built without --enable-libvmaf)',
        },
  };
}

export interface VideoInfo {
  width: number;
  height: number;
  pixFmt: string;
}

/** The first video stream's size and pixel format, or undefined when the file has no video. */
export async function probeVideo(ffprobePath: string, file: string): Promise<VideoInfo | undefined> {
  const stdout = await ffmpegOutput(ffprobePath, [
    '-v',
    'error',
    '-protocol_whitelist',
    'file',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=width,height,pix_fmt',
    '-of',
    'json',
    file,
  ]);
  const stream = (JSON.parse(stdout) as { streams?: { width?: number; height?: number; pix_fmt?: string }[] })
    .streams?.[0];
  if (!stream?.width || !stream.height) return undefined;
  return { width: stream.width, height: stream.height, pixFmt: stream.pix_fmt ?? 'unknown' };
}
