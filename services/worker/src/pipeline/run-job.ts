import { lstat, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  buildArgv,
  checkInputFiles,
  childUrl,
  contextFromTraceparent,
  DEFAULT_TIMEOUT_SECONDS,
  type FleetConfig,
  formatStorageUrl,
  inputPath,
  inSpan,
  type JobData,
  type JobProgress,
  type JobResult,
  type Logger,
  listOutputFiles,
  type ObjectStore,
  type OutputResult,
  outputPath,
  parseStorageUrl,
  percentOf,
  probeInputArgs,
  runFfmpeg,
  SPAN,
  SPAN_NAMES,
  TRACER_NAME,
  validateJob,
  workLayout,
} from '@ffleet/core';
import { type Span, type Tracer, trace } from '@opentelemetry/api';
import { probeDurationSeconds } from '../ffmpeg/probe.ts';
import { ffqmKey, type JobIdentity, qualityRecord, timingKey, timingRecord } from '../quality/records.ts';
import { directoryBytes } from './disk-usage.ts';
import {
  FfmpegFailedError,
  JobCancelledError,
  JobTimeoutError,
  OutputTooLargeError,
  ShutdownError,
} from './errors.ts';
import { metricsBucketFor, writeRecord } from './job-records.ts';
import { measureJobQuality, type QualityOutcome, qualityDecision } from './quality-step.ts';

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
  /** Spans of each job; default: the process's global tracer (a no-op when tracing is off). */
  tracer?: Tracer;
  /** Measure quality for jobs that do not say. Default false. */
  qualityDefault?: boolean;
  /** Bucket for quality and timing records; default: the bucket of the job's first output. */
  metricsBucket?: string;
  /** Where this worker runs, stamped on the records. */
  placement?: Omit<JobIdentity, 'jobId' | 'jobName' | 'pool' | 'worker' | 'attempt'>;
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
/** Progress becomes a span event at each 5 % step, or every 10 s when the duration is unknown. */
const PROGRESS_EVENT_STEP_PERCENT = 5;
const PROGRESS_EVENT_INTERVAL_MS = 10_000;

/**
 * One job in its own `job` span, continuing the trace the gateway started (its traceparent
 * travels in the job data), with a child span per stage.
 */
export async function runJob(job: PipelineJob, deps: PipelineDeps, signal: AbortSignal): Promise<JobResult> {
  const tracer = deps.tracer ?? trace.getTracer(TRACER_NAME);
  return inSpan(
    tracer,
    SPAN_NAMES.job,
    {
      parent: contextFromTraceparent(job.data?.traceparent),
      attributes: {
        [SPAN.jobId]: job.id,
        [SPAN.pool]: String(job.data?.pool ?? ''),
        [SPAN.attempt]: job.attemptsStarted,
      },
    },
    (span) => runJobStages(job, deps, signal, tracer, span),
  );
}

/**
 * One job, start to end: check it again (a job written straight into Redis gets no free
 * pass), download inputs into a fresh work dir, run ffmpeg, upload what it wrote, measure
 * quality if asked, write the job's records, and always remove the work dir.
 */
async function runJobStages(
  job: PipelineJob,
  deps: PipelineDeps,
  signal: AbortSignal,
  tracer: Tracer,
  jobSpan: Span,
): Promise<JobResult> {
  const started = performance.now();
  const startedAt = Date.now();
  const { spec, plan } = validateJob(job.data?.spec, deps.config.pools, deps.config.urlPolicy);
  jobSpan.setAttribute(SPAN.jobName, spec.name);
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
  const timings: JobResult['timings'] = { download: 0, ffmpeg: 0, upload: 0, total: 0 };
  if (typeof job.data.submittedAt === 'number') timings.queue = Math.max(0, startedAt - job.data.submittedAt);
  const records = {
    bucket: metricsBucketFor(spec, deps.metricsBucket, deps.config.urlPolicy),
    identity: {
      ...deps.placement,
      jobId: job.id,
      jobName: spec.name,
      pool: job.data.pool,
      worker: deps.workerId,
      attempt: job.attemptsStarted,
    },
  };
  let inputBytes = 0;
  let outputBytes = 0;

  try {
    await rm(workDir, { recursive: true, force: true });
    for (let i = 0; i < plan.inputs.length; i++) await mkdir(layout.inputDir(i), { recursive: true });
    for (let i = 0; i < plan.outputs.length; i++) await mkdir(layout.outputDir(i), { recursive: true });

    // Download
    report({ stage: 'download', percent: 0 }, true);
    const downloadStart = performance.now();
    const inputSizes = await inSpan(tracer, SPAN_NAMES.download, {}, async (span) => {
      const sizes = await Promise.all(
        spec.inputs.map((input, i) =>
          deps.storage.download(
            parseStorageUrl(input.url, deps.config.urlPolicy),
            inputPath(plan, layout, i),
            signal,
          ),
        ),
      );
      inputBytes = sizes.reduce((a, b) => a + b, 0);
      span.setAttribute(SPAN.inputBytes, inputBytes);
      return sizes;
    });
    const downloadMs = performance.now() - downloadStart;
    timings.download = Math.round(downloadMs);
    jobSpan.setAttribute(SPAN.inputBytes, inputBytes);
    throwIfAborted();
    // Inputs that are lists of other files (playlists, concat scripts) may only name the
    // job's own inputs; refused before any ffmpeg tool opens them.
    await checkInputFiles(plan, layout);

    // ffmpeg
    const timeoutSeconds = spec.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
    const { run, duration } = await inSpan(tracer, SPAN_NAMES.ffmpeg, {}, async (span) => {
      const duration = await probeDurationSeconds(deps.ffprobePath, probeInputArgs(plan, layout, 0));
      if (duration !== undefined) span.setAttribute(SPAN.mediaDurationSeconds, duration);
      report({ stage: 'ffmpeg', percent: 0 }, true);
      const sizeGuard = new AbortController();
      const ffmpegSignal = AbortSignal.any([signal, sizeGuard.signal]);
      const sizeTimer = setInterval(async () => {
        if ((await directoryBytes(join(workDir, 'out'))) > deps.maxOutputBytes) sizeGuard.abort('size');
      }, SIZE_CHECK_INTERVAL_MS);
      const argv = buildArgv(plan, layout);
      log.info({ argv }, 'running ffmpeg');
      let lastEvent = { step: -1, at: performance.now() };
      const run = await runFfmpeg({
        binary: deps.ffmpegPath,
        argv,
        cwd: workDir,
        timeoutMs: timeoutSeconds * 1000,
        signal: ffmpegSignal,
        onProgress: (snapshot) => {
          const progress: JobProgress = {
            stage: 'ffmpeg',
            percent: percentOf(snapshot, duration),
            fps: snapshot.fps,
            speed: snapshot.speed,
            outTimeSeconds: snapshot.outTimeSeconds,
          };
          report(progress);
          const step = Math.floor(progress.percent / PROGRESS_EVENT_STEP_PERCENT);
          const now = performance.now();
          if (
            step > lastEvent.step ||
            (duration === undefined && now - lastEvent.at >= PROGRESS_EVENT_INTERVAL_MS)
          ) {
            lastEvent = { step, at: now };
            span.addEvent('progress', progressAttributes(progress));
          }
        },
      }).finally(() => clearInterval(sizeTimer));
      if (run.exitCode !== null) span.setAttribute(SPAN.exitCode, run.exitCode);
      if (run.lastProgress?.speed) span.setAttribute(SPAN.speed, run.lastProgress.speed);
      timings.ffmpeg = Math.round(run.durationMs);
      if (sizeGuard.signal.aborted) throw new OutputTooLargeError(deps.maxOutputBytes);
      throwIfAborted();
      if (run.stoppedBy === 'timeout') throw new JobTimeoutError(timeoutSeconds, run.stderrTail);
      if (run.exitCode !== 0) throw new FfmpegFailedError(run.exitCode, run.stderrTail);
      return { run, duration };
    });
    if (duration !== undefined) jobSpan.setAttribute(SPAN.mediaDurationSeconds, duration);
    if (run.lastProgress?.speed) jobSpan.setAttribute(SPAN.speed, run.lastProgress.speed);

    // Upload: only what ffmpeg wrote into each output's own directory, never the inputs.
    report({ stage: 'upload', percent: 100 }, true);
    const uploadStart = performance.now();
    const outputs: OutputResult[] = [];
    await inSpan(tracer, SPAN_NAMES.upload, {}, async (span) => {
      for (let i = 0; i < spec.outputs.length; i++) {
        const target = parseStorageUrl(spec.outputs[i]!.url, deps.config.urlPolicy);
        if (target.folder) {
          const files = await listOutputFiles(layout.outputDir(i));
          if (files.length === 0)
            throw new FfmpegFailedError(0, ['ffmpeg wrote no files for a folder output']);
          const uploaded = await Promise.all(
            files.map(async (file) => {
              const url = childUrl(target, file.relativePath);
              return {
                url: formatStorageUrl(url),
                bytes: await deps.storage.upload(file.path, url, signal),
              };
            }),
          );
          outputs.push({
            url: formatStorageUrl(target),
            bytes: uploaded.reduce((s, f) => s + f.bytes, 0),
            files: uploaded,
          });
        } else {
          const file = outputPath(plan, layout, i);
          const stat = await lstat(file).catch(() => undefined);
          if (!stat?.isFile()) throw new FfmpegFailedError(0, [`ffmpeg did not write output ${i}`]);
          outputs.push({
            url: formatStorageUrl(target),
            bytes: await deps.storage.upload(file, target, signal),
          });
        }
        throwIfAborted();
      }
      outputBytes = outputs.reduce((sum, o) => sum + o.bytes, 0);
      span.setAttribute(SPAN.outputBytes, outputBytes);
    });
    const uploadMs = performance.now() - uploadStart;
    timings.upload = Math.round(uploadMs);
    jobSpan.setAttribute(SPAN.outputBytes, outputBytes);

    // Quality: the first output against the first input. It never fails the job.
    let quality: QualityOutcome | undefined;
    const decision = qualityDecision(spec, plan, deps.qualityDefault ?? false);
    if (decision.measure) {
      report({ stage: 'quality', percent: 100 }, true);
      const qualityStart = performance.now();
      quality = await inSpan(tracer, SPAN_NAMES.quality, {}, async (span) => {
        const outcome: QualityOutcome = decision.notApplicable
          ? { summary: { status: 'not_applicable', reason: decision.notApplicable } }
          : await measureJobQuality({
              reference: inputPath(plan, layout, 0),
              distorted: outputPath(plan, layout, 0),
              workDir: join(workDir, 'quality'),
              ffmpegPath: deps.ffmpegPath,
              ffprobePath: deps.ffprobePath,
              timeoutMs: timeoutSeconds * 1000,
              signal,
            });
        span.setAttributes(qualityAttributes(outcome));
        return outcome;
      });
      // A job with nothing to compare has no quality stage worth timing (and would skew reports).
      if (quality.summary.status !== 'not_applicable')
        timings.quality = Math.round(performance.now() - qualityStart);
      if (quality.summary.status !== 'measured')
        log.warn({ quality: quality.summary }, 'quality not measured');
    }

    timings.total = Math.round(performance.now() - started);
    const result: JobResult = {
      outputs,
      timings,
      inputBytes: inputSizes.reduce((a, b) => a + b, 0),
      worker: deps.workerId,
    };
    if (duration !== undefined) result.mediaDurationSeconds = duration;
    if (run.lastProgress?.speed) result.speed = run.lastProgress.speed;
    if (quality) result.quality = quality.summary;
    Object.assign(
      result,
      await writeJobRecords(deps, records, {
        state: 'succeeded',
        submittedAt: job.data.submittedAt,
        timings,
        inputBytes,
        outputBytes,
        mediaDurationSeconds: duration,
        speed: run.lastProgress?.speed,
        quality,
        referenceUrl: spec.inputs[0]!.url,
        outputUrl: spec.outputs[0]!.url,
        log,
      }),
    );
    return result;
  } catch (error) {
    // An abort surfaces as whatever the interrupted step threw; report the real cause.
    if (signal.aborted && !(error instanceof ShutdownError || error instanceof JobCancelledError))
      throwIfAborted();
    // A failed attempt is recorded too (a cancel or a hand-back on shutdown is not a failure).
    if (!(error instanceof ShutdownError || error instanceof JobCancelledError)) {
      timings.total = Math.round(performance.now() - started);
      await writeJobRecords(deps, records, {
        state: 'failed',
        submittedAt: job.data.submittedAt,
        timings,
        inputBytes,
        outputBytes,
        log,
      });
    }
    throw error;
  } finally {
    await rm(workDir, { recursive: true, force: true }).catch((error) =>
      log.error({ err: error }, 'work dir cleanup failed'),
    );
  }
}

function progressAttributes(progress: JobProgress): Record<string, number> {
  const attributes: Record<string, number> = { percent: Math.round(progress.percent * 10) / 10 };
  if (progress.fps !== undefined) attributes.fps = progress.fps;
  if (progress.speed !== undefined) attributes.speed = progress.speed;
  if (progress.outTimeSeconds !== undefined) attributes.out_time_seconds = progress.outTimeSeconds;
  return attributes;
}

function qualityAttributes(outcome: QualityOutcome): Record<string, string | number> {
  const q = outcome.summary;
  const attributes: Record<string, string | number> = { 'ffleet.quality.status': q.status };
  if (q.psnr !== undefined) attributes['ffleet.quality.psnr'] = q.psnr;
  if (q.ssim !== undefined) attributes['ffleet.quality.ssim'] = q.ssim;
  if (q.vmaf !== undefined) attributes['ffleet.quality.vmaf'] = q.vmaf;
  if (q.vmafUnavailable) attributes['ffleet.quality.vmaf_unavailable'] = q.vmafUnavailable;
  if (q.reason) attributes['ffleet.quality.reason'] = q.reason;
  return attributes;
}

interface RecordTarget {
  bucket: string | undefined;
  identity: JobIdentity;
}

/**
 * Writes the job's timing record and, when quality was measured, its quality record.
 * Returns their URLs for the job's result. A failed write is logged, never thrown: the
 * records describe the job, they are not its outputs.
 */
async function writeJobRecords(
  deps: PipelineDeps,
  target: RecordTarget,
  job: {
    state: 'succeeded' | 'failed';
    submittedAt?: number;
    timings: JobResult['timings'];
    inputBytes: number;
    outputBytes: number;
    mediaDurationSeconds?: number;
    speed?: number;
    quality?: QualityOutcome;
    referenceUrl?: string;
    outputUrl?: string;
    log: Logger;
  },
): Promise<Pick<JobResult, 'metricsUrl' | 'timingsUrl'>> {
  const urls: Pick<JobResult, 'metricsUrl' | 'timingsUrl'> = {};
  const bucket = target.bucket;
  if (!bucket) return urls;
  const at = new Date();
  const { identity } = target;
  const measurement = job.quality?.measurement;
  const write = async (key: string, value: unknown): Promise<string | undefined> => {
    try {
      return await writeRecord(deps.storage, bucket, key, value, deps.workRoot);
    } catch (error) {
      job.log.warn({ err: error, key }, 'could not write a job record');
      return undefined;
    }
  };
  const [metricsUrl, timingsUrl] = await Promise.all([
    measurement
      ? write(
          ffqmKey(identity.pool, identity.jobId, at),
          qualityRecord(
            measurement,
            { ...identity, referenceUrl: job.referenceUrl ?? '', outputUrl: job.outputUrl ?? '' },
            at,
          ),
        )
      : undefined,
    write(
      timingKey(identity.pool, identity.jobId, at),
      timingRecord({
        ...identity,
        state: job.state,
        submittedAt: job.submittedAt,
        finishedAt: at.getTime(),
        stagesMs: job.timings,
        inputBytes: job.inputBytes,
        outputBytes: job.outputBytes,
        mediaDurationSeconds: job.mediaDurationSeconds,
        speed: job.speed,
        quality: measurement,
      }),
    ),
  ]);
  if (metricsUrl) urls.metricsUrl = metricsUrl;
  if (timingsUrl) urls.timingsUrl = timingsUrl;
  return urls;
}
