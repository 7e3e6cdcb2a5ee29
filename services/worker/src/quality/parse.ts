import type { Frame } from './stats.ts';

/**
 * PSNR of identical frames (MSE 0) is infinite, which JSON cannot hold. ffleet caps PSNR at
 * 100 dB: identical frames score exactly 100, and every value stays a plain number that
 * Athena, the report and averages can use. MSE fields keep their true value (0).
 */
export const PSNR_CEILING_DB = 100;

export function capPsnr(value: number): number {
  return Math.min(value, PSNR_CEILING_DB);
}

/** A number as ffmpeg prints it: `inf`, `-inf` and `nan` included. */
function ffmpegNumber(text: string): number {
  const lower = text.toLowerCase();
  if (lower === 'inf' || lower === '+inf') return Number.POSITIVE_INFINITY;
  if (lower === '-inf') return Number.NEGATIVE_INFINITY;
  const n = Number(text);
  if (Number.isNaN(n)) throw new Error(`not a number: "${text}"`);
  return n;
}

/** Lines of `key:value` fields, as the psnr and ssim filters write to `stats_file`. */
function fields(line: string): [string, string][] {
  return line
    .trim()
    .split(/\s+/)
    .filter((f) => f.includes(':'))
    .map((f) => {
      const i = f.indexOf(':');
      return [f.slice(0, i), f.slice(i + 1)];
    });
}

/**
 * The psnr filter's stats file:
 * `n:1 mse_avg:42.42 mse_y:50.78 mse_u:22.29 mse_v:29.11 psnr_avg:31.85 psnr_y:31.07 psnr_u:34.65 psnr_v:33.49`
 * (10-bit and higher builds add `max_avg` etc., kept as they come).
 */
export function parsePsnrStats(text: string): Frame[] {
  return text
    .split('\n')
    .filter((line) => line.trim().startsWith('n:'))
    .map((line) => {
      const frame: Frame = { n: 0 };
      for (const [key, raw] of fields(line)) {
        const value = ffmpegNumber(raw);
        frame[key] = key === 'n' ? Math.trunc(value) : key.startsWith('psnr') ? capPsnr(value) : value;
      }
      return frame;
    });
}

/**
 * The ssim filter's stats file: `n:1 Y:0.937213 U:0.961733 V:0.945788 All:0.948245 (12.860441)`.
 * Keys become `ssim_y`, `ssim_u`, `ssim_v`, `ssim_avg` (the AWS sample's Athena columns); the
 * dB value in parentheses is dropped, as ffmpeg-quality-metrics does.
 */
export function parseSsimStats(text: string): Frame[] {
  return text
    .split('\n')
    .filter((line) => line.trim().startsWith('n:'))
    .map((line) => {
      const frame: Frame = { n: 0 };
      for (const [key, raw] of fields(line.split(' (')[0] ?? '')) {
        if (key === 'n') frame.n = Math.trunc(ffmpegNumber(raw));
        else frame[`ssim_${key.toLowerCase().replace('all', 'avg')}`] = ffmpegNumber(raw);
      }
      return frame;
    });
}

interface LibvmafLog {
  frames?: { frameNum: number; metrics: Record<string, number> }[];
}

/** libvmaf's JSON log (`log_fmt=json`): per-frame feature scores and `vmaf`; `n` counts from 1. */
export function parseVmafLog(text: string): Frame[] {
  const log = JSON.parse(text) as LibvmafLog;
  if (!Array.isArray(log.frames)) throw new Error('libvmaf log has no frames');
  return log.frames.map((f) => ({ ...f.metrics, n: Math.trunc(f.frameNum) + 1 }));
}

export interface FfmpegSummary {
  /** The psnr filter's closing line (y, u, v, average, min, max); `average` is the PSNR of the mean MSE. */
  psnr?: Record<string, number>;
  /** The ssim filter's closing line (y, u, v, all); `all` is the mean of per-frame SSIM. */
  ssim?: Record<string, number>;
}

/**
 * ffmpeg's own closing lines on stderr:
 * `[Parsed_psnr_4 @ 0x…] PSNR y:30.75 u:32.54 v:30.84 average:31.02 min:30.43 max:31.85`
 * `[Parsed_ssim_5 @ 0x…] SSIM Y:0.98 (17.1) U:0.99 (20.3) V:0.98 (18.2) All:0.98 (17.9)`
 */
export function parseFfmpegSummary(stderr: string): FfmpegSummary {
  const summary: FfmpegSummary = {};
  const psnr = /\] PSNR (.*)$/m.exec(stderr)?.[1];
  if (psnr) {
    summary.psnr = Object.fromEntries(
      fields(psnr).map(([k, v]) => [k.toLowerCase(), capPsnr(ffmpegNumber(v))]),
    );
  }
  const ssim = /\] SSIM (.*)$/m.exec(stderr)?.[1];
  if (ssim) {
    summary.ssim = Object.fromEntries(
      fields(ssim.replace(/\([^)]*\)/g, '')).map(([k, v]) => [k.toLowerCase(), ffmpegNumber(v)]),
    );
  }
  return summary;
}
