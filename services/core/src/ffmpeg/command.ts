import { posix } from 'node:path';
import { UnsafeJobError } from '../errors.ts';
import type { JobSpec } from '../jobs/spec.ts';
import { baseName, parseStorageUrl, type UrlPolicy } from '../storage/url.ts';
import { type FfmpegLimits, limitPlan, NO_LIMITS } from './limits.ts';
import { LIST_DEMUXERS, type ListDemuxer, MEDIA_DEMUXERS } from './option-table.ts';
import { type ParsedOption, parseOptionString } from './options.ts';

/**
 * The FFmpeg command model: a job's option strings become checked argv fragments, and the
 * job's inputs and outputs become files inside its work dir. Callers never name a path;
 * the worker decides every path ffmpeg sees.
 *
 *   tokenize.ts      option string -> words (shell-like quoting, no shell)
 *   options.ts       words -> options checked against option-table.ts (data)
 *   filtergraph.ts   filtergraph values parsed and checked against filter-table.ts (data)
 *   references.ts    URL / protocol / absolute / `..` detection for every value
 *   command.ts       job -> CommandPlan -> argv (this file)
 *   inputs.ts        after download: list inputs (concat, HLS) checked and rewritten,
 *                    playlists disguised as media refused
 *   outputs.ts       before upload: the regular files ffmpeg wrote, nothing else
 */
export interface CommandPlan {
  global: string[];
  /** The same options, parsed (global options written in globalOptions). */
  globalOptions: readonly ParsedOption[];
  inputs: PlannedInput[];
  outputs: PlannedOutput[];
}

export interface PlannedInput {
  args: string[];
  options: readonly ParsedOption[];
  localName: string;
  /** The input URL as the job gave it. */
  url: string;
  /** The demuxer named with `-f`, if any. */
  demuxer?: string;
  /** Set when the input is a list of other inputs (`-f concat` / `-f hls`). */
  list?: ListDemuxer;
}

export interface PlannedOutput {
  args: string[];
  options: readonly ParsedOption[];
  localName: string;
  folder: boolean;
  /** The output URL as the job gave it. */
  url: string;
  /** The muxer named with `-f`, if any. */
  muxer?: string;
  /** Values in `args` that are file names buildArgv places in a directory of the work dir. */
  placed: PlacedArg[];
}

export interface PlacedArg {
  /** Index in `args` of the file name. */
  at: number;
  /** `output`: the output's folder (uploaded with a folder output); `work`: the work dir. */
  dir: 'output' | 'work';
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
  ssegment: 'segment-%05d.ts',
  stream_segment: 'segment-%05d.ts',
};
// Muxers that write several files next to their output: they need a folder output.
const MULTI_FILE_MUXERS = new Set(['hls', 'dash', 'segment', 'ssegment', 'stream_segment']);
const MULTI_FILE_EXTENSIONS = new Set(['.m3u8', '.mpd']);
const FOLDER_FILENAME = /^[A-Za-z0-9_][A-Za-z0-9_.%-]{0,127}$/;

/** Validates every option and URL of a job; throws UnsafeJobError naming the first problem. */
export function planCommand(spec: JobSpec, policy: UrlPolicy = {}): CommandPlan {
  const inputCount = spec.inputs.length;
  const globalOptions = parseOptionString(spec.globalOptions, {
    field: 'globalOptions',
    scope: 'global',
    inputCount,
  });
  const inputs = spec.inputs.map((input, i): PlannedInput => {
    const field = `inputs[${i}].options`;
    const url = parseStorageUrl(input.url, policy);
    if (url.folder) {
      throw new UnsafeJobError(`inputs[${i}].url is a folder; inputs must be objects`, { url: input.url });
    }
    const options = parseOptionString(input.options, { field, scope: 'input', inputCount });
    const planned: PlannedInput = {
      args: flatten(options),
      options,
      localName: localFileName(baseName(url), `input${i}`),
      url: input.url,
    };
    const demuxer = lastValue(options, 'f');
    if (demuxer !== undefined) planned.demuxer = demuxer;
    if ((LIST_DEMUXERS as readonly string[]).includes(demuxer ?? '')) planned.list = demuxer as ListDemuxer;
    return planned;
  });
  const outputs = spec.outputs.map((output, i): PlannedOutput => {
    const field = `outputs[${i}].options`;
    const url = parseStorageUrl(output.url, policy);
    const options = parseOptionString(output.options, { field, scope: 'output', inputCount });
    const args = flatten(options);
    const muxer = lastValue(options, 'f');
    let localName: string;
    if (url.folder) {
      const name = output.filename ?? (muxer ? FOLDER_DEFAULT_FILE[muxer] : undefined);
      if (!name) {
        throw new UnsafeJobError(
          `outputs[${i}] is a folder: give "filename" (the file ffmpeg writes in it) or a -f format with a default (${Object.keys(FOLDER_DEFAULT_FILE).join(', ')})`,
          { url: output.url },
        );
      }
      if (!FOLDER_FILENAME.test(name)) {
        throw new UnsafeJobError(`outputs[${i}].filename "${name}" must be a plain file name`, {
          url: output.url,
        });
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
    const placed = placedArgs(options);
    if (!url.folder) {
      const writesSeveral =
        MULTI_FILE_MUXERS.has(muxer ?? '') ||
        MULTI_FILE_EXTENSIONS.has(posix.extname(localName).toLowerCase()) ||
        placed.some((p) => p.dir === 'output');
      if (writesSeveral) {
        throw new UnsafeJobError(
          `outputs[${i}] writes several files (playlist, segments): give a folder URL ending in "/"`,
          { url: output.url },
        );
      }
    }
    const planned: PlannedOutput = { args, options, localName, folder: url.folder, url: output.url, placed };
    if (muxer !== undefined) planned.muxer = muxer;
    return planned;
  });
  return { global: flatten(globalOptions), globalOptions, inputs, outputs };
}

/** ffmpeg's numbers for its named log levels. */
const LOG_LEVELS: Readonly<Record<string, number>> = {
  quiet: -8,
  panic: 0,
  fatal: 8,
  error: 16,
  warning: 24,
  info: 32,
  verbose: 40,
  debug: 48,
  trace: 56,
};
const ERROR_LEVEL = LOG_LEVELS.error!;

/**
 * A job's `-v`/`-loglevel` below `error` (`quiet`, `panic`, `fatal`) is raised to `error`,
 * written after the job's own: the worker reads ffmpeg's errors to say why a run failed (a
 * pool limit, a bad option), and a silent ffmpeg would fail with no reason. Louder levels
 * are kept.
 */
function logLevelFloor(options: readonly ParsedOption[]): string[] {
  const asked = options.filter((o) => o.name === 'v' || o.name === 'loglevel').at(-1)?.value;
  // The level is the last `+` part; a flag alone (`repeat`) keeps ffmpeg's `info`.
  const last = asked?.split('+').at(-1) ?? '';
  const level = /^-?\d+$/.test(last) ? Number(last) : LOG_LEVELS[last];
  return level !== undefined && level < ERROR_LEVEL ? ['-loglevel', 'error'] : [];
}

/**
 * The full argv (without the ffmpeg binary). Fixed hardening comes first and cannot be
 * overridden: no stdin, progress on stdout, only local files as inputs, and per input a
 * demuxer whitelist, so probing never picks a demuxer that opens other files. The pool's
 * limits (limits.ts) are written into every input and output.
 */
export function buildArgv(plan: CommandPlan, layout: WorkLayout, limits: FfmpegLimits = NO_LIMITS): string[] {
  plan = limitPlan(plan, limits);
  const argv = [
    ...['-hide_banner', '-nostdin', '-y', '-nostats', '-progress', 'pipe:1'],
    ...plan.global,
    ...logLevelFloor(plan.globalOptions),
  ];
  plan.inputs.forEach((input, i) => {
    argv.push(...input.args, ...inputHardening(input), '-i', inputPath(plan, layout, i));
  });
  plan.outputs.forEach((output, i) => {
    const args = [...output.args];
    for (const { at, dir } of output.placed) {
      const base = dir === 'output' ? layout.outputDir(i) : layout.workDir;
      args[at] = inside(layout.workDir, posix.join(base, args[at]!));
    }
    argv.push(...args, inside(layout.workDir, posix.join(layout.outputDir(i), output.localName)));
  });
  return argv;
}

/**
 * The options ffleet puts before every input: local files only, and only media demuxers
 * (plus the declared list demuxer), so probing never picks one that opens other files.
 * ffmpeg passes both lists on to every nested input it opens.
 */
export function inputHardening(input: PlannedInput): string[] {
  const demuxers = input.list ? [input.list, ...MEDIA_DEMUXERS] : MEDIA_DEMUXERS;
  return [
    '-protocol_whitelist',
    'file,pipe',
    '-format_whitelist',
    demuxers.join(','),
    // checkInputFiles rewrote the concat list to absolute paths of the job's own inputs.
    ...(input.list === 'concat' ? ['-safe', '0'] : []),
  ];
}

/**
 * Arguments for ffprobe (or any other ffmpeg tool the worker runs) to open input `index`
 * with the same hardening as the job's own command; append them after the tool's options.
 * Use only after checkInputFiles.
 */
export function probeInputArgs(plan: CommandPlan, layout: WorkLayout, index: number): string[] {
  const input = plan.inputs[index];
  if (!input) throw new RangeError(`no input ${index}`);
  return [
    ...(input.demuxer ? ['-f', input.demuxer] : []),
    ...inputHardening(input),
    '-i',
    inputPath(plan, layout, index),
  ];
}

/** Where the worker puts input `index`'s downloaded file. */
export function inputPath(plan: CommandPlan, layout: WorkLayout, index: number): string {
  const input = plan.inputs[index];
  if (!input) throw new RangeError(`no input ${index}`);
  return inside(layout.workDir, posix.join(layout.inputDir(index), input.localName));
}

/** Where ffmpeg writes output `index`'s main file. */
export function outputPath(plan: CommandPlan, layout: WorkLayout, index: number): string {
  const output = plan.outputs[index];
  if (!output) throw new RangeError(`no output ${index}`);
  return posix.join(layout.outputDir(index), output.localName);
}

function inside(workDir: string, path: string): string {
  const root = posix.resolve(workDir);
  const resolved = posix.resolve(path);
  if (!resolved.startsWith(`${root}/`)) throw new Error(`refusing path outside the work dir: ${path}`);
  return resolved;
}

function flatten(options: readonly ParsedOption[]): string[] {
  const args: string[] = [];
  for (const o of options) {
    args.push(o.token);
    if (o.value !== undefined) args.push(o.value);
  }
  return args;
}

function lastValue(options: readonly ParsedOption[], name: string): string | undefined {
  return options.findLast((o) => o.name === name)?.value;
}

function placedArgs(options: readonly ParsedOption[]): PlacedArg[] {
  const placed: PlacedArg[] = [];
  let at = 0;
  for (const option of options) {
    if (option.value !== undefined) {
      if (option.kind === 'outputPath') placed.push({ at: at + 1, dir: 'output' });
      if (option.kind === 'scratchPath') placed.push({ at: at + 1, dir: 'work' });
      at += 2;
    } else at += 1;
  }
  return placed;
}

/** A safe local file name that keeps the extension ffmpeg may use to pick a (de)muxer. */
function localFileName(name: string, fallback: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[.-]+/, '');
  return safe.length > 0 && safe.length <= 120 ? safe : `${fallback}${posix.extname(safe).slice(0, 10)}`;
}
