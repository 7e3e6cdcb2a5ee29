/**
 * A job's quality target, run: at most four probe encodes at CRFs the search picks
 * (core's nextProbeCrf), each measured on the target's metric, then the highest CRF that met
 * it (or the fallback). A short input (a chunk, a clip) is probed whole with the job's own
 * command, so the chosen probe is the job's output and is kept as it is; a long one is probed
 * on samples (samples.ts), and the job's command then runs once at the chosen CRF.
 */
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import {
  buildArgv,
  type CommandPlan,
  checkTargetQuality,
  chooseCrf,
  crfArgs,
  DEFAULT_TIMEOUT_SECONDS,
  FfleetError,
  formatCrf,
  inputHardening,
  inputPath,
  limitGlobalArgs,
  limitPlan,
  maxPixelsArgs,
  NO_LIMITS,
  nextProbeCrf,
  optionArgs,
  outputPath,
  type Probe,
  runFfmpeg,
  type TargetPlan,
  type TargetQualityResult,
  threadArgs,
  type WorkLayout,
} from '@ffleet/core';
import { limitFailure } from '../ffmpeg/limits.ts';
import type { JobContext } from '../pipeline/context.ts';
import { FfmpegFailedError, JobTimeoutError, OutputTooLargeError } from '../pipeline/errors.ts';
import { stage } from '../pipeline/stage.ts';
import { watchOutputSize } from '../pipeline/stages/ffmpeg.ts';
import { measureQuality, type QualityMeasurement, type QualityMode } from '../quality/measure.ts';
import { probeQualityFilters } from '../quality/probe.ts';
import { planSamples, type Sample, samplesArgv } from './samples.ts';

/** What the search leaves for the rest of the job. */
export interface TargetSearch {
  target: TargetPlan;
  /** The job's command at the chosen CRF; undefined when the chosen probe already is the output. */
  finalPlan?: CommandPlan;
  /** How the final encode's score is measured when it has to be (the probes' way). */
  scoreMode: QualityMode;
  result: TargetQualityResult;
  /** The reused probe's own measurement (a full one of the very output). */
  measurement?: QualityMeasurement;
}

/** The score of a measurement on the target's metric (means over the frames compared). */
export function scoreOf(target: Pick<TargetPlan, 'metric'>, m: QualityMeasurement): number | undefined {
  if (target.metric === 'ssim') return m.global.ssim.ssim_avg?.average;
  if (target.metric === 'psnr') return m.global.psnr.psnr_avg?.average;
  return m.global.vmaf?.vmaf?.average;
}

/** The job's plan with `args` added to its (only) output's options, before the output file. */
export function withOutputArgs(plan: CommandPlan, args: readonly string[]): CommandPlan {
  const [output, ...rest] = plan.outputs;
  return { ...plan, outputs: [{ ...output!, args: [...output!.args, ...args] }, ...rest] };
}

/**
 * Searches the CRF of a job with a quality target; undefined for other jobs. Runs as the job's
 * `probe` stage. A job asking for VMAF on a worker without libvmaf fails here for good.
 */
export async function searchTargetCrf(ctx: JobContext): Promise<TargetSearch | undefined> {
  const asked = ctx.spec.targetQuality;
  if (!asked) return undefined;
  const target = checkTargetQuality(asked, ctx.plan);
  return stage(ctx, 'probe', async ({ span }) => {
    if (target.metric === 'vmaf') {
      const filters = await probeQualityFilters(ctx.deps.ffmpegPath);
      if (!filters.vmaf.available)
        throw new FfleetError(
          'vmaf_unavailable',
          `pool ${ctx.job.data.pool}: this worker cannot measure VMAF (${filters.vmaf.reason}); ask for ssim or psnr, or run the job on a pool whose image has libvmaf`,
          400,
        );
    }
    const samples = planSamples(ctx.facts.mediaDurationSeconds);
    const dir = join(ctx.workDir, 'probes');
    await mkdir(dir, { recursive: true });
    const probeOn = samples ? await samplesProber(ctx, target, samples, dir) : wholeProber(ctx, target, dir);
    const probes: Probe[] = [];
    const measurements = new Map<number, QualityMeasurement>();
    for (let crf = nextProbeCrf(target, probes); crf !== undefined; crf = nextProbeCrf(target, probes)) {
      const { bytes, measurement } = await probeOn(crf, probes.length);
      const score = scoreOf(target, measurement);
      if (score === undefined)
        throw new Error(`the probe at CRF ${formatCrf(crf)} has no ${target.metric} score`);
      probes.push({ crf, score, bytes });
      measurements.set(crf, measurement);
      ctx.log.info({ crf, score, bytes }, 'target quality probe');
      span.addEvent('probe', { crf, score, bytes });
    }
    const choice = chooseCrf(target, probes);
    const chosen = probes.find((p) => p.crf === choice.crf);
    const atDefault = probes.find((p) => p.crf === target.range.default);
    const reused = !samples && chosen !== undefined;
    const result: TargetQualityResult = {
      metric: target.metric,
      min: target.min,
      max: target.max,
      encoder: target.encoder,
      defaultCrf: target.range.default,
      crf: choice.crf,
      met: choice.met,
      probes,
      reused,
      probedOn: samples ? 'samples' : 'whole',
    };
    if (!choice.met) result.fallback = choice.reason;
    if (samples)
      result.samples = { count: samples.length, seconds: samples.reduce((s, x) => s + x.duration, 0) };
    if (chosen && atDefault && atDefault.bytes > 0)
      result.savedPercent = round2((100 * (atDefault.bytes - chosen.bytes)) / atDefault.bytes);
    span.setAttributes({
      'ffleet.target.metric': target.metric,
      'ffleet.target.crf': choice.crf,
      'ffleet.target.probes': probes.length,
      'ffleet.target.met': choice.met,
    });
    if (reused) {
      // The chosen probe encoded the whole input with the job's own command: it is the output.
      result.score = chosen.score;
      await rm(ctx.layout.outputDir(0), { recursive: true, force: true });
      await rename(probeLayout(ctx, dir, probes.indexOf(chosen)).outputDir(0), ctx.layout.outputDir(0));
      await rm(dir, { recursive: true, force: true });
      return { target, result, scoreMode: 'full', measurement: measurements.get(chosen.crf) };
    }
    await rm(dir, { recursive: true, force: true });
    return {
      target,
      result,
      finalPlan: withOutputArgs(ctx.plan, crfArgs(target, choice.crf)),
      scoreMode: samples ? 'sampled' : 'full',
    };
  });
}

type Prober = (crf: number, n: number) => Promise<{ bytes: number; measurement: QualityMeasurement }>;

/** The work dir's layout for probe `n`: the job's inputs, the probe's own output folders. */
function probeLayout(ctx: JobContext, dir: string, n: number): WorkLayout {
  return {
    workDir: ctx.layout.workDir,
    inputDir: ctx.layout.inputDir,
    outputDir: (i) => posix.join(dir, String(n), 'out', String(i)),
  };
}

/** Probes that run the job's whole command at the CRF and measure its output against its input. */
function wholeProber(ctx: JobContext, target: TargetPlan, dir: string): Prober {
  return async (crf, n) => {
    const layout = probeLayout(ctx, dir, n);
    await mkdir(layout.outputDir(0), { recursive: true });
    const plan = withOutputArgs(ctx.plan, crfArgs(target, crf));
    await runProbe(ctx, buildArgv(plan, layout, limitsOf(ctx)));
    const distorted = outputPath(plan, layout, 0);
    return {
      bytes: (await stat(distorted)).size,
      measurement: await measure(
        ctx,
        target,
        inputPath(ctx.plan, ctx.layout, 0),
        distorted,
        join(dir, String(n), 'quality'),
      ),
    };
  };
}

/**
 * Probes on samples: the samples cut once into a lossless file, then per probe the job's video
 * options at the CRF (no audio, no muxer options: only the picture is scored), measured
 * against the samples.
 */
async function samplesProber(
  ctx: JobContext,
  target: TargetPlan,
  samples: readonly Sample[],
  dir: string,
): Promise<Prober> {
  const reference = join(dir, 'samples.mkv');
  // The job's command with the pool's limits written in (thread counts capped, limit options added).
  const limits = limitsOf(ctx);
  const plan = limitPlan(ctx.plan, limits);
  const input = plan.inputs[0]!;
  await runProbe(ctx, [
    ...limitGlobalArgs(limits),
    ...samplesArgv(
      inputPath(plan, ctx.layout, 0),
      [...input.args, ...inputHardening(input)],
      samples,
      reference,
    ),
  ]);
  const video = videoOptions(plan);
  return async (crf, n) => {
    const distorted = join(dir, `probe-${n}.mkv`);
    await runProbe(ctx, [
      // plan.global starts with the global limits.
      ...['-hide_banner', '-nostdin', '-y', '-nostats', '-loglevel', 'error', ...plan.global],
      ...threadArgs(limits),
      ...['-protocol_whitelist', 'file', '-f', 'matroska', '-i', reference],
      // The cap first: the job's own (capped) thread counts win.
      ...threadArgs(limits),
      ...video,
      ...crfArgs(target, crf),
      ...maxPixelsArgs(limits),
      ...['-an', '-sn', '-dn', '-f', 'matroska', distorted],
    ]);
    return {
      bytes: (await stat(distorted)).size,
      measurement: await measure(ctx, target, reference, distorted, join(dir, `quality-${n}`)),
    };
  };
}

/** The output's options that shape the picture: everything but audio, subtitle, data, mapping and container options. */
function videoOptions(plan: CommandPlan): string[] {
  const skipped = new Set([
    'map',
    'f',
    'movflags',
    'metadata',
    'map_metadata',
    'map_chapters',
    'an',
    'sn',
    'dn',
    'shortest',
  ]);
  const audio = /^(?:[sgp]:)?[asdt]\b/;
  return optionArgs(
    plan.outputs[0]!.options.filter(
      (o) =>
        !skipped.has(o.name) &&
        !['acodec', 'ab', 'af', 'ar', 'ac', 'scodec', 'dcodec'].includes(o.name) &&
        !(o.specifier && audio.test(o.specifier)),
    ),
  );
}

async function measure(
  ctx: JobContext,
  target: TargetPlan,
  reference: string,
  distorted: string,
  workDir: string,
): Promise<QualityMeasurement> {
  return measureQuality({
    reference,
    distorted,
    workDir,
    ffmpegPath: ctx.deps.ffmpegPath,
    ffprobePath: ctx.deps.ffprobePath,
    limits: limitsOf(ctx),
    vmaf: target.metric === 'vmaf',
    mode: 'full',
    timeoutMs: timeoutMs(ctx),
    signal: ctx.signal,
  });
}

const timeoutMs = (ctx: JobContext) => (ctx.spec.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000;

const limitsOf = (ctx: JobContext) => ctx.deps.ffmpegLimits ?? NO_LIMITS;

/**
 * One ffmpeg run of the search (its argv carries the pool's limit options), under the job's
 * timeout, the pool's memory limit and the worker's output size limit (on everything the
 * search writes: samples and probes).
 */
async function runProbe(ctx: JobContext, argv: string[]): Promise<void> {
  const limits = limitsOf(ctx);
  const sizeGuard = watchOutputSize(ctx, join(ctx.workDir, 'probes'));
  const run = await runFfmpeg({
    binary: ctx.deps.ffmpegPath,
    argv,
    ...(limits.memoryBytes ? { addressSpaceBytes: limits.memoryBytes } : {}),
    cwd: ctx.workDir,
    timeoutMs: timeoutMs(ctx),
    signal: AbortSignal.any([ctx.signal, sizeGuard.signal]),
  }).finally(sizeGuard.stop);
  if (sizeGuard.signal.aborted) throw new OutputTooLargeError(ctx.deps.maxOutputBytes);
  ctx.throwIfAborted();
  if (run.stoppedBy === 'timeout') throw new JobTimeoutError(timeoutMs(ctx) / 1000, run.stderrTail);
  const overLimit = limitFailure(run, limits);
  if (overLimit) throw overLimit;
  if (run.exitCode !== 0) throw new FfmpegFailedError(run.exitCode, run.stderrTail);
}

/**
 * The final score of an output that was encoded after the search: from the job's own quality
 * measurement when it made one, else measured here on the target's metric.
 */
export async function finalScore(ctx: JobContext, search: TargetSearch): Promise<void> {
  const { result, target } = search;
  if (result.score !== undefined) return;
  const own = ctx.facts.quality?.measurement;
  let score = own ? scoreOf(target, own) : undefined;
  score ??= scoreOf(
    target,
    await measureQuality({
      reference: inputPath(ctx.plan, ctx.layout, 0),
      distorted: outputPath(ctx.plan, ctx.layout, 0),
      workDir: join(ctx.workDir, 'target-score'),
      ffmpegPath: ctx.deps.ffmpegPath,
      ffprobePath: ctx.deps.ffprobePath,
      limits: limitsOf(ctx),
      vmaf: target.metric === 'vmaf',
      mode: search.scoreMode,
      timeoutMs: timeoutMs(ctx),
      signal: ctx.signal,
    }),
  );
  if (score !== undefined) result.score = score;
}

const round2 = (value: number) => Math.round(value * 100) / 100;
