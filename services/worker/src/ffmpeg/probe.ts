import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const CLEAN_ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

/**
 * Media duration in seconds from ffprobe, or undefined when it cannot tell (still images,
 * streams). `inputArgs` open the input with the job's own hardening (`probeInputArgs`).
 */
export async function probeDurationSeconds(
  ffprobePath: string,
  inputArgs: string[],
): Promise<number | undefined> {
  try {
    const { stdout } = await exec(
      ffprobePath,
      ['-v', 'error', '-show_entries', 'format=duration', '-of', 'default=nw=1:nk=1', ...inputArgs],
      { env: CLEAN_ENV, timeout: 30_000 },
    );
    const seconds = Number(stdout.trim());
    return Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
  } catch {
    return undefined;
  }
}

export interface Capabilities {
  ffmpegVersion: string;
  encoders: string[];
  hwaccels: string[];
  filters: string[];
}

/** What this worker's ffmpeg can do: reported to the gateway so users see it in /v1/pools. */
export async function probeCapabilities(ffmpegPath: string): Promise<Capabilities> {
  const run = async (args: string[]) =>
    (await exec(ffmpegPath, ['-hide_banner', ...args], { env: CLEAN_ENV, timeout: 30_000 })).stdout;
  const [version, encoders, hwaccels, filters] = await Promise.all([
    run(['-version']),
    run(['-encoders']),
    run(['-hwaccels']),
    run(['-filters']),
  ]);
  return {
    ffmpegVersion: /ffmpeg version (\S+)/.exec(version)?.[1] ?? 'unknown',
    encoders: parseListing(encoders, /^\s[VAS][A-Z.]{5}\s+(\S+)/),
    hwaccels: hwaccels
      .split('\n')
      .slice(1)
      .map((l) => l.trim())
      .filter(Boolean),
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
