import { posix } from 'node:path';
import { UnsafeJobError } from '../errors.ts';
import type { JobSpec } from '../jobs/spec.ts';
import { baseName, parseStorageUrl, type UrlPolicy } from '../storage/url.ts';
import { checkOptions } from './options.ts';
import { tokenize } from './tokenize.ts';

/**
 * The FFmpeg command model: a job's option strings become checked argv fragments, and the
 * job's inputs and outputs become files inside its work dir. Callers never name a path;
 * the worker decides every path ffmpeg sees.
 */
export interface CommandPlan {
  global: string[];
  inputs: { args: string[]; localName: string }[];
  outputs: { args: string[]; localName: string; folder: boolean }[];
}

/** Absolute directories the worker lays out for one job. */
export interface WorkLayout {
  workDir: string;
  inputDir: (index: number) => string;
  outputDir: (index: number) => string;
}

export function workLayout(workDir: string): WorkLayout {
  return {
    workDir,
    inputDir: (i) => posix.join(workDir, 'in', String(i)),
    outputDir: (i) => posix.join(workDir, 'out', String(i)),
  };
}

const FOLDER_DEFAULT_FILE: Record<string, string> = {
  hls: 'index.m3u8',
  dash: 'manifest.mpd',
  image2: 'frame-%05d.jpg',
  segment: 'segment-%05d.ts',
};

/** Validates every option and URL of a job; throws UnsafeJobError naming the first problem. */
export function planCommand(spec: JobSpec, policy: UrlPolicy = {}): CommandPlan {
  const global = checkOptions(tokenize(spec.globalOptions, 'globalOptions'), 'global', 'globalOptions');
  const inputs = spec.inputs.map((input, i) => {
    const field = `inputs[${i}].options`;
    const url = parseStorageUrl(input.url, policy);
    if (url.folder)
      throw new UnsafeJobError(`inputs[${i}].url is a folder; inputs must be objects`, { url: input.url });
    return {
      args: checkOptions(tokenize(input.options, field), 'input', field),
      localName: localFileName(baseName(url), `input${i}`),
    };
  });
  const outputs = spec.outputs.map((output, i) => {
    const field = `outputs[${i}].options`;
    const url = parseStorageUrl(output.url, policy);
    const args = checkOptions(tokenize(output.options, field), 'output', field);
    let localName: string;
    if (url.folder) {
      const format = formatOf(args);
      const name = output.filename ?? (format ? FOLDER_DEFAULT_FILE[format] : undefined);
      if (!name) {
        throw new UnsafeJobError(
          `outputs[${i}] is a folder: give "filename" (the file ffmpeg writes in it) or a -f format with a default (${Object.keys(FOLDER_DEFAULT_FILE).join(', ')})`,
          { url: output.url },
        );
      }
      localName = name;
    } else {
      if (output.filename !== undefined) {
        throw new UnsafeJobError(`outputs[${i}].filename is only for folder outputs (URL ending in /)`, {
          url: output.url,
        });
      }
      localName = localFileName(baseName(url), `output${i}`);
    }
    return { args, localName, folder: url.folder };
  });
  return { global, inputs, outputs };
}

/**
 * The full argv (without the ffmpeg binary). Fixed hardening comes first and cannot be
 * overridden: no stdin, progress on stdout, only local files as inputs.
 */
export function buildArgv(plan: CommandPlan, layout: WorkLayout): string[] {
  const argv = ['-hide_banner', '-nostdin', '-y', '-nostats', '-progress', 'pipe:1', ...plan.global];
  plan.inputs.forEach((input, i) => {
    argv.push(
      ...input.args,
      '-protocol_whitelist',
      'file,pipe',
      '-i',
      posix.join(layout.inputDir(i), input.localName),
    );
  });
  plan.outputs.forEach((output, i) => {
    argv.push(...output.args, posix.join(layout.outputDir(i), output.localName));
  });
  return argv;
}

function formatOf(args: string[]): string | undefined {
  const at = args.lastIndexOf('-f');
  return at >= 0 ? args[at + 1] : undefined;
}

/** A safe local file name that keeps the extension ffmpeg may use to pick a (de)muxer. */
function localFileName(name: string, fallback: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[.-]+/, '');
  return safe.length > 0 && safe.length <= 120 ? safe : `${fallback}${posix.extname(safe).slice(0, 10)}`;
}
