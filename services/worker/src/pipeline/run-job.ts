import { lstat, mkdir, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import {
  buildArgv,
  childUrl,
  DEFAULT_TIMEOUT_SECONDS,
  type FleetConfig,
  formatStorageUrl,
  type JobData,
  type JobProgress,
  type JobResult,
  type Logger,
  type ObjectStore,
  type OutputResult,
  parseStorageUrl,
  percentOf,
  validateJob,
  workLayout,
} from '@ffleet/core';
import { probeDurationSeconds } from '../ffmpeg/probe.ts';
import { runFfmpeg } from '../ffmpeg/run.ts';
import {
  FfmpegFailedError,
  JobCancelledError,
  JobTimeoutError,
  OutputTooLargeError,
  ShutdownError,
} from './errors.ts';
import { directoryBytes, listOutputFiles } from './output-files.ts';

export interface PipelineDeps {
  config: FleetConfig;
  storage: ObjectStore;
  ffmpegPath: string;
  ffprobePath: string;
  /** Scratch directory holding one work dir per running job. */
  workRoot: string;
  workerId: string;
  /** Kill ffmpeg when a job's outputs grow past this. */
  maxOutputBytes: number;
  logger: Logger;
}

/** The slice of a BullMQ job the pipeline uses (kept small so it is easy to reason about). */
export interface PipelineJob {
  id: string;
  data: JobData;
  attemptsStarted: number;
  updateProgress(progress: JobProgress): Promise<unknown>;
}

export const SHUTDOWN_REASON = 'shutdown';
const PROGRESS_INTERVAL_MS = 500;
const SIZE_CHECK_INTERVAL_MS = 1000;

/**
 * One job, start to end: check it again (a job written straight into Redis gets no free
 * pass), download inputs into a fresh work dir, run ffmpeg, upload what it wrote, and
 * always remove the work dir.
 */
export async function runJob(job: PipelineJob, deps: PipelineDeps, signal: AbortSignal): Promise<JobResult> {
  const started = performance.now();
  const { spec, plan } = validateJob(job.data?.spec, deps.config.pools, deps.config.urlPolicy);
  const workDir = join(
    deps.workRoot,
    `${job.id.replace(/[^A-Za-z0-9-]/g, '_').slice(0, 80)}-${job.attemptsStarted}`,
  );
  const layout = workLayout(workDir);
  const log = deps.logger.child({ jobId: job.id, name: spec.name });
  let lastReport = 0;
  const report = (progress: JobProgress, force = false) => {
    const now = Date.now();
    if (!force && now - lastReport < PROGRESS_INTERVAL_MS) return;
    lastReport = now;
    job.updateProgress(progress).catch((error) => log.warn({ err: error }, 'progress update failed'));
  };
  const throwIfAborted = () => {
    if (signal.aborted)
      throw signal.reason === SHUTDOWN_REASON ? new ShutdownError() : new JobCancelledError();
  };

  try {
    await rm(workDir, { recursive: true, force: true });
    for (let i = 0; i < plan.inputs.length; i++) await mkdir(layout.inputDir(i), { recursive: true });
    for (let i = 0; i < plan.outputs.length; i++) await mkdir(layout.outputDir(i), { recursive: true });

    // Download
    report({ stage: 'download', percent: 0 }, true);
    const downloadStart = performance.now();
    const inputSizes = await Promise.all(
      spec.inputs.map((input, i) =>
        deps.storage.download(
          parseStorageUrl(input.url, deps.config.urlPolicy),
          posix.join(layout.inputDir(i), plan.inputs[i]!.localName),
          signal,
        ),
      ),
    );
    const downloadMs = performance.now() - downloadStart;
    throwIfAborted();

    // ffmpeg
    const firstInput = posix.join(layout.inputDir(0), plan.inputs[0]!.localName);
    const duration = await probeDurationSeconds(deps.ffprobePath, firstInput);
    report({ stage: 'ffmpeg', percent: 0 }, true);
    const timeoutSeconds = spec.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    const sizeGuard = new AbortController();
    const ffmpegSignal = AbortSignal.any([signal, sizeGuard.signal]);
    const sizeTimer = setInterval(async () => {
      if ((await directoryBytes(join(workDir, 'out'))) > deps.maxOutputBytes) sizeGuard.abort('size');
    }, SIZE_CHECK_INTERVAL_MS);
    const argv = buildArgv(plan, layout);
    log.info({ argv }, 'running ffmpeg');
    const run = await runFfmpeg({
      ffmpegPath: deps.ffmpegPath,
      argv,
      cwd: workDir,
      timeoutMs: timeoutSeconds * 1000,
      signal: ffmpegSignal,
      onProgress: (snapshot) =>
        report({
          stage: 'ffmpeg',
          percent: percentOf(snapshot, duration),
          fps: snapshot.fps,
          speed: snapshot.speed,
          outTimeSeconds: snapshot.outTimeSeconds,
        }),
    }).finally(() => clearInterval(sizeTimer));
    if (sizeGuard.signal.aborted) throw new OutputTooLargeError(deps.maxOutputBytes);
    throwIfAborted();
    if (run.stoppedBy === 'timeout') throw new JobTimeoutError(timeoutSeconds, run.stderrTail);
    if (run.exitCode !== 0) throw new FfmpegFailedError(run.exitCode, run.stderrTail);

    // Upload: only what ffmpeg wrote into each output's own directory, never the inputs.
    report({ stage: 'upload', percent: 100 }, true);
    const uploadStart = performance.now();
    const outputs: OutputResult[] = [];
    for (let i = 0; i < spec.outputs.length; i++) {
      const target = parseStorageUrl(spec.outputs[i]!.url, deps.config.urlPolicy);
      const dir = layout.outputDir(i);
      if (target.folder) {
        const files = await listOutputFiles(dir);
        if (files.length === 0) throw new FfmpegFailedError(0, ['ffmpeg wrote no files for a folder output']);
        const uploaded = await Promise.all(
          files.map(async (file) => {
            const url = childUrl(target, file.relative);
            return {
              url: formatStorageUrl(url),
              bytes: await deps.storage.upload(join(dir, file.relative), url, signal),
            };
          }),
        );
        outputs.push({
          url: formatStorageUrl(target),
          bytes: uploaded.reduce((s, f) => s + f.bytes, 0),
          files: uploaded,
        });
      } else {
        const file = join(dir, plan.outputs[i]!.localName);
        const stat = await lstat(file).catch(() => undefined);
        if (!stat?.isFile()) throw new FfmpegFailedError(0, [`ffmpeg did not write output ${i}`]);
        outputs.push({
          url: formatStorageUrl(target),
          bytes: await deps.storage.upload(file, target, signal),
        });
      }
      throwIfAborted();
    }
    const uploadMs = performance.now() - uploadStart;

    const result: JobResult = {
      outputs,
      timings: {
        download: Math.round(downloadMs),
        ffmpeg: Math.round(run.durationMs),
        upload: Math.round(uploadMs),
        total: Math.round(performance.now() - started),
      },
      inputBytes: inputSizes.reduce((a, b) => a + b, 0),
      worker: deps.workerId,
    };
    if (duration !== undefined) result.mediaDurationSeconds = duration;
    if (run.lastProgress?.speed) result.speed = run.lastProgress.speed;
    return result;
  } catch (error) {
    // An abort surfaces as whatever the interrupted step threw; report the real cause.
    if (signal.aborted && !(error instanceof ShutdownError || error instanceof JobCancelledError))
      throwIfAborted();
    throw error;
  } finally {
    await rm(workDir, { recursive: true, force: true }).catch((error) =>
      log.error({ err: error }, 'work dir cleanup failed'),
    );
  }
}
