import {
  FfmpegToolError,
  ffmpegOutput,
  firstFrameHdr10,
  type Hdr10Metadata,
  PROBE_FIRST_FRAME_ARGS,
} from '@ffleet/core';

/**
 * Media duration in seconds from ffprobe, or undefined when it cannot tell (still images,
 * streams). `inputArgs` open the input with the job's own hardening (`probeInputArgs`).
 */
export async function probeDurationSeconds(
  ffprobePath: string,
  inputArgs: string[],
): Promise<number | undefined> {
  try {
    const stdout = await ffmpegOutput(ffprobePath, [
      '-v',
      'error',
      '-show_entries',
      'format=duration',
      '-of',
      'default=nw=1:nk=1',
      ...inputArgs,
    ]);
    const seconds = Number(stdout.trim());
    return Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A PQ source's HDR10 metadata from its first frame (HEVC and AV1 carry it in the stream, where
 * ffprobe shows it on frames only), or undefined when the frame has none. One packet is read
 * and decoded.
 */
export async function probeFirstFrameHdr10(
  ffprobePath: string,
  inputArgs: string[],
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<Hdr10Metadata | undefined> {
  return firstFrameHdr10(await ffmpegOutput(ffprobePath, [...PROBE_FIRST_FRAME_ARGS, ...inputArgs], options));
}

export interface Capabilities {
  ffmpegVersion: string;
  /** Encoders a job can use here: software ones as listed, hardware ones only when a test encode worked. */
  encoders: string[];
  /** Hardware acceleration methods whose device opened on this machine. */
  hwaccels: string[];
  /** What this ffmpeg was built with, usable or not. */
  builtInHwaccels: string[];
  /** Hardware encoders and hwaccels built in but not usable here, with ffmpeg's reason. */
  unusable: Record<string, string>;
  filters: string[];
}

/** Encoders that need a device (GPU, Quick Sync, VA-API, Alveo U30…), checked with a real encode. */
export const HARDWARE_ENCODER = /_(nvenc|qsv|vaapi|amf|vulkan|v4l2m2m|mf)$|^mpsoc_vcu_/;
/** Device types ffmpeg can open with -init_hw_device; built-in ones are tried at start. */
const DEVICE_HWACCELS = new Set(['cuda', 'vaapi', 'qsv', 'vulkan', 'opencl', 'drm', 'vdpau']);

/**
 * What this worker's ffmpeg can do on this machine, reported to the gateway (GET /v1/pools).
 * Being built with NVENC or CUDA says nothing about a GPU being there, so every hardware path
 * the pool expects is tried: the device is opened, the encoder encodes one frame.
 */
export async function probeCapabilities(
  ffmpegPath: string,
  expectedEncoders: readonly string[] = [],
): Promise<Capabilities> {
  const run = (args: string[]) => ffmpegOutput(ffmpegPath, ['-hide_banner', ...args]);
  const [version, encoderList, hwaccelList, filters] = await Promise.all([
    run(['-version']),
    run(['-encoders']),
    run(['-hwaccels']),
    run(['-filters']),
  ]);
  const builtInEncoders = parseListing(encoderList, /^\s[VAS][A-Z.]{5}\s+(\S+)/);
  const builtInHwaccels = hwaccelList
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .filter(Boolean);
  const unusable: Record<string, string> = {};
  const attempt = async (name: string, args: string[]) => {
    try {
      await ffmpegOutput(ffmpegPath, ['-hide_banner', '-nostdin', '-v', 'error', ...args], {
        timeoutMs: 20_000,
      });
      return true;
    } catch (error) {
      const reason = error instanceof FfmpegToolError ? error.stderr.at(-1) : (error as Error).message;
      unusable[name] = reason?.slice(0, 200) || 'failed';
      return false;
    }
  };
  const candidates = builtInHwaccels.filter((m) => DEVICE_HWACCELS.has(m));
  const opened = await Promise.all(
    candidates.map((method) =>
      attempt(method, [
        '-init_hw_device',
        method,
        '-f',
        'lavfi',
        '-i',
        'nullsrc=s=64x64:d=0.04',
        '-f',
        'null',
        '-',
      ]),
    ),
  );
  const hwaccels = candidates.filter((_, i) => opened[i]);
  const encoders: string[] = [];
  for (const encoder of builtInEncoders) {
    if (!HARDWARE_ENCODER.test(encoder)) encoders.push(encoder);
    else if (
      expectedEncoders.includes(encoder) &&
      (await attempt(encoder, [
        '-f',
        'lavfi',
        '-i',
        'testsrc=s=256x144:d=0.04',
        '-frames:v',
        '1',
        '-c:v',
        encoder,
        '-f',
        'null',
        '-',
      ]))
    ) {
      encoders.push(encoder);
    }
  }
  return {
    ffmpegVersion: /ffmpeg version (\S+)/.exec(version)?.[1] ?? 'unknown',
    encoders,
    hwaccels,
    builtInHwaccels,
    unusable,
    filters: parseListing(filters, /^\s[T.][S.][C.]?\s+(\S+)/),
  };
}

function parseListing(text: string, line: RegExp): string[] {
  const names: string[] = [];
  for (const l of text.split('\n')) {
    const name = line.exec(l)?.[1];
    if (name && name !== '=') names.push(name);
  }
  return names.sort();
}

/** Frames (counted from packets, no decoding) and duration of a file's first video stream. */
export async function videoStreamLength(
  ffprobePath: string,
  file: string,
): Promise<{ frames: number; seconds?: number }> {
  const stdout = await ffmpegOutput(ffprobePath, [
    ...['-v', 'error', '-protocol_whitelist', 'file', '-select_streams', 'v:0', '-count_packets'],
    ...['-show_entries', 'stream=nb_read_packets,duration', '-of', 'json', file],
  ]);
  const stream = (JSON.parse(stdout) as { streams?: { nb_read_packets?: string; duration?: string }[] })
    .streams?.[0];
  const seconds = Number(stream?.duration);
  return { frames: Number(stream?.nb_read_packets ?? 0), ...(Number.isFinite(seconds) ? { seconds } : {}) };
}
