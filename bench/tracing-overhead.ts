/**
 * What tracing and metrics cost a job: the same job on two local fleets, one exporting
 * every span to Jaeger and scraped for Prometheus metrics every 5 s, one with the
 * OpenTelemetry SDK disabled and never scraped. Quality is off on both. Runs alternate
 * between the fleets so machine drift hits both alike; each fleet gets one warm-up job first.
 * The headline ratio is the median over pairs of back-to-back runs (one on, one off) of their
 * ratio, so a burst of load from elsewhere spoils one pair, not the result; each side's fastest
 * and median runs are printed too. Because wall time on a shared machine is noisy,
 * the CPU time the gateway and worker processes spend per job is measured too (ffmpeg is a
 * child process and not counted): what tracing adds there bounds what it can add to a job.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GatewayClient } from '@ffleet/cli';
import { isFinishedState } from '@ffleet/core';
import { type LocalFleet, startLocalFleet, type TracingMode } from '../scripts/lib/local-fleet.ts';
import { makeSampleClip } from '../scripts/lib/sample-clip.ts';
import { median } from './median.ts';
import { cpuMs } from './process-cpu.ts';

interface Side {
  fleet: LocalFleet;
  client: GatewayClient;
  times: number[];
  /** CPU milliseconds of the gateway and worker processes, per recorded job. */
  cpu: number[];
}

async function fleetCpuMs(fleet: LocalFleet): Promise<number> {
  const pids = [fleet.gatewayPid, ...fleet.workers.map((w) => w.pid)];
  return (await Promise.all(pids.map(cpuMs))).reduce((a, b) => a + b, 0);
}

export async function measureTracingOverhead(options: {
  quick: boolean;
  work: string;
  print: (name: string, value: string | number) => void;
}): Promise<void> {
  const { quick, work, print } = options;
  // A short job makes the fleet's own time a larger share, so the ratio is a worst case.
  const seconds = quick ? 3 : 4;
  const runs = quick ? 1 : 15;
  const clip = join(work, 'tracing-input.mp4');
  await makeSampleClip(clip, { seconds, size: '1280x720', rate: 30, preset: 'veryfast' });
  const options720 = '-c:v libx264 -preset veryfast -crf 23 -c:a copy';

  const start = async (tracing: TracingMode, extraEnv: Record<string, string>): Promise<Side> => {
    const fleet = await startLocalFleet({
      quiet: true,
      tracing,
      extraEnv: { FFLEET_QUALITY_DEFAULT: 'false', ...extraEnv },
    });
    await fleet.stack.putFile('bench/input.mp4', clip);
    return { fleet, client: new GatewayClient(fleet.gatewayUrl), times: [], cpu: [] };
  };
  const on = await start('required', {});
  const off = await start('off', { OTEL_SDK_DISABLED: 'true' }).catch(async (error) => {
    await on.fleet.stop();
    throw error;
  });

  // What Prometheus does, more often than its default (1 min) or the usual 15–30 s: every job
  // is scraped at least once, as it starts.
  const SCRAPE_INTERVAL_MS = 5000;
  const scrape = (side: Side) => {
    const stop = new AbortController();
    const urls = [`${side.fleet.gatewayUrl}/metrics`, ...side.fleet.workers.map((w) => w.metricsUrl)];
    const loop = (async () => {
      let scrapes = 0;
      while (!stop.signal.aborted) {
        for (const url of urls) {
          const response = await fetch(url);
          if (!response.ok) throw new Error(`scraping ${url}: HTTP ${response.status}`);
          await response.text();
        }
        scrapes++;
        await sleep(SCRAPE_INTERVAL_MS, undefined, { signal: stop.signal }).catch(() => {});
      }
      return scrapes;
    })();
    return async () => {
      stop.abort();
      return loop;
    };
  };

  let run = 0;
  const job = async (side: Side, record: boolean): Promise<{ id: string; traceId?: string }> => {
    const stopScraping = side === on ? scrape(side) : undefined;
    let view: { state: string; traceId?: string | null; error?: unknown };
    let id: string;
    let elapsed: number;
    let scrapes: number | undefined;
    let cpu = 0;
    try {
      cpu = await fleetCpuMs(side.fleet);
      const started = performance.now();
      ({ id } = await side.client.request<{ id: string }>('POST', '/v1/jobs', {
        name: 'bench-tracing',
        compute: side.fleet.pools[0],
        inputs: [{ url: `s3://${side.fleet.stack.bucket}/bench/input.mp4` }],
        outputs: [{ url: `s3://${side.fleet.stack.bucket}/bench/out-${run++}.mp4`, options: options720 }],
      }));
      for (;;) {
        view = await side.client.request('GET', `/v1/jobs/${id}`);
        if (isFinishedState(view.state)) break;
        await sleep(20);
      }
      elapsed = performance.now() - started;
    } finally {
      scrapes = await stopScraping?.();
    }
    cpu = (await fleetCpuMs(side.fleet)) - cpu;
    if (scrapes === 0) throw new Error('metrics were never scraped');
    if (view.state !== 'succeeded') throw new Error(`bench job failed: ${JSON.stringify(view.error)}`);
    if (record) {
      side.times.push(elapsed);
      side.cpu.push(cpu);
    }
    return { id, traceId: view.traceId ?? undefined };
  };

  try {
    await job(off, false);
    await job(on, false);
    let last: { traceId?: string } = {};
    for (let i = 0; i < runs; i++) {
      const order = i % 2 === 0 ? [off, on] : [on, off];
      for (const side of order) {
        const done = await job(side, true);
        if (side === on) last = done;
      }
    }
    // Tracing really was on: the last job's trace is in Jaeger, whole.
    if (!last.traceId) throw new Error('the traced fleet returned no trace id');
    const trace = await on.fleet.jaeger!.waitForTrace(last.traceId, { minSpans: 5 });
    // Best of N: on a shared machine other load only ever adds time, so the fastest run of
    // each side is the closest to its own cost. Medians are printed beside it.
    const best = (values: number[]) => Math.min(...values);
    print('tracing_input', `${seconds}s 1280x720 h264, command: ${options720}, ${runs} pairs of runs`);
    print('tracing_spans_per_job', trace.spans.length);
    print('tracing_off_job_ms', Math.round(best(off.times)));
    print('tracing_on_job_ms', Math.round(best(on.times)));
    const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
    const addedCpu = mean(on.cpu) - mean(off.cpu);
    print('tracing_node_cpu_ms_per_job_off', Math.round(mean(off.cpu)));
    print('tracing_node_cpu_ms_per_job_on', Math.round(mean(on.cpu)));
    // Even if every added CPU millisecond delayed the job, it could not be slower than this.
    print(
      'tracing_cpu_bound_ratio',
      Number(((best(off.times) + Math.max(0, addedCpu)) / best(off.times)).toFixed(3)),
    );
    print('tracing_median_ratio', Number((median(on.times) / median(off.times)).toFixed(3)));
    print('tracing_best_ratio', Number((best(on.times) / best(off.times)).toFixed(3)));
    const pairRatios = on.times.map((t, i) => t / off.times[i]!);
    print('tracing_overhead_ratio', Number(median(pairRatios).toFixed(3)));
  } finally {
    await Promise.all([on.fleet.stop(), off.fleet.stop()]);
  }
}
