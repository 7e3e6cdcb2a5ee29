import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RESOURCE, SPAN, splitChunks, startTelemetry, type Telemetry } from '@ffleet/core';
import type { JobView } from '@ffleet/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Jaeger, type JaegerSpan, type JaegerTrace, startJaeger } from '../../scripts/lib/jaeger.ts';
import { freePort } from '../../scripts/lib/stack.ts';
import { finished, startFleet, type TestFleet, type WorkerProcess } from '../support/fleet.ts';
import { makeSampleClip } from '../support/media.ts';

type Job = JobView;

// The caller's own span: the gateway continues its trace.
const CLIENT_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN_ID = '00f067aa0ba902b7';

let jaeger: Jaeger;
let telemetry: Telemetry;
let fleet: TestFleet;
let worker: WorkerProcess;
let workerMetricsUrl: string;
let inputBytes: number;
let job: Job;
let found: JaegerTrace;

beforeAll(async () => {
  jaeger = await startJaeger();
  // The test fleet's gateway runs in this process: it traces through this process's SDK.
  telemetry = await startTelemetry({ service: 'ffleet-gateway', endpoint: jaeger.otlpEndpoint });
  fleet = await startFleet({
    gateway: { tracer: telemetry.tracer, traceUiUrl: `${jaeger.queryUrl}/trace/` },
  });
  const clip = join(fleet.dir, 'sample.mp4');
  await makeSampleClip(clip, { seconds: 2, size: '640x360' });
  inputBytes = (await stat(clip)).size;
  await fleet.put('inputs/sample.mp4', clip);
  const port = await freePort();
  workerMetricsUrl = `http://127.0.0.1:${port}/metrics`;
  worker = await fleet.startWorker('intel', {
    OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpEndpoint,
    OTEL_BSP_SCHEDULE_DELAY: '200',
    FFLEET_INSTANCE_TYPE: 'c6i.large',
    FFLEET_CAPACITY_TYPE: 'spot',
    FFLEET_ZONE: 'us-east-1a',
    FFLEET_WORKER_PORT: String(port),
    FFLEET_WORKER_HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
  });

  const response = await fetch(`${fleet.baseUrl}/v1/jobs`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      traceparent: `00-${CLIENT_TRACE_ID}-${CLIENT_SPAN_ID}-01`,
    },
    body: JSON.stringify({
      name: 'traced-transcode',
      compute: 'intel',
      quality: true,
      inputs: [{ url: `s3://${fleet.bucket}/inputs/sample.mp4` }],
      outputs: [
        {
          url: `s3://${fleet.bucket}/out/traced.mp4`,
          options: '-vf scale=-2:180 -c:v libx264 -preset ultrafast -c:a aac',
        },
      ],
    }),
  });
  const accepted = (await response.json()) as { id: string; traceId?: string; links: { trace?: string } };
  expect(response.status, JSON.stringify(accepted)).toBe(202);
  expect(accepted.traceId).toBe(CLIENT_TRACE_ID);
  expect(accepted.links.trace).toBe(`${jaeger.queryUrl}/trace/${CLIENT_TRACE_ID}`);
  job = await fleet.waitFor<Job>(accepted.id, finished);
  await telemetry.flush();
  found = await jaeger.waitForTrace(CLIENT_TRACE_ID, { minSpans: 6, timeoutMs: 20_000 });
});

afterAll(async () => {
  await fleet?.stop();
  await telemetry?.shutdown();
  await jaeger?.stop();
});

const tags = (span: JaegerSpan | undefined) =>
  Object.fromEntries((span?.tags ?? []).map((t) => [t.key, t.value]));

describe('one trace per job, in Jaeger', () => {
  it('links the job view to its trace', () => {
    expect(job.state, JSON.stringify(job.error)).toBe('succeeded');
    expect(job.traceId).toBe(CLIENT_TRACE_ID);
    expect(job.links.trace).toBe(jaeger.traceUrl(CLIENT_TRACE_ID));
  });

  it('holds the gateway request span, then job → download, ffmpeg, upload, quality in order', () => {
    const byName = new Map(found.spans.map((s) => [s.operationName, s]));
    expect([...byName.keys()].sort()).toEqual([
      'POST /v1/jobs',
      'download',
      'ffmpeg',
      'job',
      'quality',
      'upload',
    ]);
    const parentOf = (name: string) =>
      byName.get(name)!.references.find((r) => r.refType === 'CHILD_OF')?.spanID;
    const request = byName.get('POST /v1/jobs')!;
    const jobSpan = byName.get('job')!;
    expect(parentOf('POST /v1/jobs')).toBe(CLIENT_SPAN_ID);
    expect(parentOf('job')).toBe(request.spanID);
    const stages = ['download', 'ffmpeg', 'upload', 'quality'].map((name) => byName.get(name)!);
    // Span start times are taken from Date.now() (whole milliseconds), ends from the monotonic
    // clock (microseconds): compare with a millisecond of slack.
    const ms = 1000;
    for (const stage of stages) {
      expect(parentOf(stage.operationName)).toBe(jobSpan.spanID);
      expect(stage.startTime).toBeGreaterThanOrEqual(jobSpan.startTime - ms);
      expect(stage.startTime + stage.duration).toBeLessThanOrEqual(jobSpan.startTime + jobSpan.duration + ms);
    }
    // Each stage starts after the previous one ended.
    for (let i = 1; i < stages.length; i++) {
      const previous = stages[i - 1]!;
      expect(stages[i]!.startTime).toBeGreaterThanOrEqual(previous.startTime + previous.duration - ms);
    }
    expect(jobSpan.startTime).toBeGreaterThanOrEqual(request.startTime - ms);
  });

  it('carries the job attributes on the spans', () => {
    const span = (name: string) => found.spans.find((s) => s.operationName === name);
    const outputBytes = job.outputs![0]!.bytes;
    expect(tags(span('POST /v1/jobs'))).toMatchObject({
      [SPAN.jobId]: job.id,
      [SPAN.jobName]: 'traced-transcode',
      [SPAN.pool]: 'intel',
      'http.response.status_code': 202,
    });
    const jobTags = tags(span('job'));
    expect(jobTags).toMatchObject({
      [SPAN.jobId]: job.id,
      [SPAN.jobName]: 'traced-transcode',
      [SPAN.pool]: 'intel',
      [SPAN.attempt]: 1,
      [SPAN.inputBytes]: inputBytes,
      [SPAN.outputBytes]: outputBytes,
    });
    expect(jobTags[SPAN.mediaDurationSeconds]).toBeCloseTo(2, 0);
    expect(jobTags[SPAN.speed]).toBeGreaterThan(0);
    expect(tags(span('download'))[SPAN.inputBytes]).toBe(inputBytes);
    expect(tags(span('upload'))[SPAN.outputBytes]).toBe(outputBytes);
    const ffmpeg = span('ffmpeg')!;
    expect(tags(ffmpeg)).toMatchObject({ [SPAN.exitCode]: 0 });
    expect(tags(ffmpeg)[SPAN.speed]).toBeGreaterThan(0);
    // Progress as span events.
    const progress = ffmpeg.logs.filter((l) =>
      l.fields.some((f) => f.key === 'event' && f.value === 'progress'),
    );
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]!.fields.map((f) => f.key)).toContain('percent');
    expect(tags(span('quality'))).toMatchObject({ 'ffleet.quality.status': 'measured' });
  });

  it('describes where each process runs in its resource attributes', () => {
    const processOf = (name: string) => {
      const span = found.spans.find((s) => s.operationName === name)!;
      const process = found.processes[span.processID]!;
      return {
        service: process.serviceName,
        ...Object.fromEntries(process.tags.map((t) => [t.key, t.value])),
      };
    };
    expect(processOf('POST /v1/jobs')).toMatchObject({ service: 'ffleet-gateway' });
    expect(processOf('job')).toMatchObject({
      service: 'ffleet-worker',
      [RESOURCE.pool]: 'intel',
      [RESOURCE.accelerator]: 'none',
      [RESOURCE.hostArch]: process.arch === 'x64' ? 'amd64' : process.arch,
      [RESOURCE.hostType]: 'c6i.large',
      [RESOURCE.capacityType]: 'spot',
      [RESOURCE.zone]: 'us-east-1a',
    });
  });

  it('writes the trace and span ids into the worker log lines of the job', () => {
    const lines = worker
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map(
        (line) => JSON.parse(line) as { msg?: string; jobId?: string; trace_id?: string; span_id?: string },
      );
    const running = lines.find((l) => l.jobId === job.id && l.msg === 'running ffmpeg');
    const ffmpegSpan = found.spans.find((s) => s.operationName === 'ffmpeg')!;
    expect(running).toMatchObject({ trace_id: CLIENT_TRACE_ID, span_id: ffmpegSpan.spanID });
  });
});

describe('Prometheus metrics', () => {
  const value = (text: string, series: RegExp) => {
    const line = text.split('\n').find((l) => series.test(l));
    return line === undefined ? undefined : Number(line.split(' ').at(-1));
  };

  it('counts jobs, stage durations and busy slots on the worker', async () => {
    const text = await (await fetch(workerMetricsUrl)).text();
    expect(value(text, /^ffleet_jobs_finished_total\{.*pool="intel".*state="succeeded"/)).toBe(1);
    expect(value(text, /^ffleet_jobs_finished_total\{.*state="failed"/)).toBe(0);
    for (const stage of ['download', 'ffmpeg', 'upload', 'quality', 'total'])
      expect(
        value(text, new RegExp(`^ffleet_stage_duration_seconds_count\\{.*stage="${stage}"`)),
        stage,
      ).toBe(1);
    expect(value(text, /^ffleet_workers_busy\{.*pool="intel"/)).toBe(0);
    expect(value(text, /^ffleet_worker_slots\{.*pool="intel"/)).toBe(1);
  });

  it("serves the chart's probes: /readyz while it takes jobs, /healthz while it answers", async () => {
    const base = workerMetricsUrl.replace(/\/metrics$/, '');
    const ready = await fetch(`${base}/readyz`);
    expect([ready.status, await ready.text()]).toEqual([200, 'ready']);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('counts submissions, refusals and queue depth on the gateway', async () => {
    const refused = await fleet.api('POST', '/v1/jobs', {
      name: 'nowhere',
      compute: 'quantum',
      inputs: [{ url: `s3://${fleet.bucket}/inputs/sample.mp4` }],
      outputs: [{ url: `s3://${fleet.bucket}/out/never.mp4` }],
    });
    expect(refused.status).toBe(400);
    const response = await fetch(`${fleet.baseUrl}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(value(text, /^ffleet_jobs_submitted_total\{.*pool="intel"/)).toBe(1);
    expect(value(text, /^ffleet_jobs_rejected_total\{.*reason="unknown_compute"/)).toBe(1);
    expect(value(text, /^ffleet_queue_depth\{.*pool="intel"/)).toBe(0);
    expect(value(text, /^ffleet_jobs\{.*pool="intel".*state="completed"/)).toBe(1);
  });
});

describe('a chunked encode in Jaeger', () => {
  it('is one trace: plan and join spans of the job, one span per chunk and one for the audio', async () => {
    const clip = join(fleet.dir, 'long.mp4');
    await makeSampleClip(clip, { seconds: 8, size: '320x240' });
    await fleet.put('inputs/long.mp4', clip);
    const { status, body } = await fleet.api<{ id: string; traceId: string }>('POST', '/v1/jobs', {
      name: 'traced-chunks',
      compute: 'intel',
      inputs: [{ url: `s3://${fleet.bucket}/inputs/long.mp4` }],
      outputs: [
        {
          url: `s3://${fleet.bucket}/out/traced-chunks.mp4`,
          options: '-c:v libx264 -preset ultrafast -c:a aac',
        },
      ],
      split: { segmentSeconds: 2 },
    });
    expect(status).toBe(202);
    const chunked = await fleet.waitFor<Job>(body.id, finished, 120_000);
    expect(chunked.state, JSON.stringify(chunked.error)).toBe('succeeded');
    const chunks = splitChunks(chunked.pipeline)!.total;
    expect(chunks).toBe(4);
    await telemetry.flush();
    // POST, plan (analyse, split, upload, download), join (download, ffmpeg, upload), chunks and audio (3 each).
    const trace = await jaeger.waitForTrace(body.traceId, {
      minSpans: 1 + 5 + 4 + 4 * (chunks + 1),
      timeoutMs: 30_000,
    });
    const named = (name: string) => trace.spans.filter((s) => s.operationName === name);
    const parentOf = (span: JaegerSpan) => span.references.find((r) => r.refType === 'CHILD_OF')?.spanID;
    const [request] = named('POST /v1/jobs');
    expect(named('plan')).toHaveLength(1);
    expect(named('join')).toHaveLength(1);
    expect(named('audio')).toHaveLength(1);
    const chunkSpans = named('chunk');
    expect(chunkSpans.map((s) => Number(tags(s)[SPAN.chunkIndex])).sort()).toEqual([0, 1, 2, 3]);
    // Every step hangs off the request that submitted the job; each has its own stages.
    for (const step of [...named('plan'), ...named('join'), ...named('audio'), ...chunkSpans]) {
      expect(parentOf(step)).toBe(request!.spanID);
      expect(trace.spans.some((s) => s.operationName === 'ffmpeg' && parentOf(s) === step.spanID)).toBe(
        step.operationName !== 'plan',
      );
    }
    expect(
      trace.spans.some((s) => s.operationName === 'split' && parentOf(s) === named('plan')[0]!.spanID),
    ).toBe(true);
  });
});

describe('previews in Jaeger', () => {
  it('is one trace: plan and manifest spans of the job, one span per sprite sheet and per snippet', async () => {
    const clip = join(fleet.dir, 'previews.mp4');
    await makeSampleClip(clip, { seconds: 4, size: '160x90' });
    await fleet.put('inputs/previews.mp4', clip);
    const { status, body } = await fleet.api<{ id: string; traceId: string }>('POST', '/v1/jobs', {
      name: 'traced-previews',
      compute: 'intel',
      inputs: [{ url: `s3://${fleet.bucket}/inputs/previews.mp4` }],
      outputs: [{ url: `s3://${fleet.bucket}/out/traced-previews/` }],
      previews: {
        poster: false,
        thumbnails: { times: [1] },
        sprite: { intervalSeconds: 2, columns: 1, rows: 1 },
        animations: { snippetSeconds: 2, formats: ['gif'] },
      },
    });
    expect(status).toBe(202);
    const done = await fleet.waitFor<Job>(body.id, finished, 120_000);
    expect(done.state, JSON.stringify(done.error)).toBe('succeeded');
    await telemetry.flush();
    // POST, plan (download, analyse, ffmpeg, upload), manifest (upload), 2 sheets and 2 snippets (job + 3 stages each).
    const trace = await jaeger.waitForTrace(body.traceId, { minSpans: 1 + 5 + 2 + 4 * 4, timeoutMs: 30_000 });
    const named = (name: string) => trace.spans.filter((s) => s.operationName === name);
    const parentOf = (span: JaegerSpan) => span.references.find((r) => r.refType === 'CHILD_OF')?.spanID;
    const [request] = named('POST /v1/jobs');
    expect(named('plan')).toHaveLength(1);
    expect(named('manifest')).toHaveLength(1);
    expect(
      named('sheet')
        .map((s) => Number(tags(s)[SPAN.previewIndex]))
        .sort(),
    ).toEqual([0, 1]);
    expect(
      named('snippet')
        .map((s) => Number(tags(s)[SPAN.previewIndex]))
        .sort(),
    ).toEqual([0, 1]);
    for (const step of [...named('plan'), ...named('manifest'), ...named('sheet'), ...named('snippet')]) {
      expect(parentOf(step)).toBe(request!.spanID);
      expect(trace.spans.some((s) => s.operationName === 'ffmpeg' && parentOf(s) === step.spanID)).toBe(
        step.operationName !== 'manifest',
      );
    }
    expect(tags(named('plan')[0])[SPAN.snippets]).toBe(2);
  });
});
