import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  createMetricsRegistry,
  METRIC,
  queueDepth,
  registerGatewayMetrics,
  registerWorkerMetrics,
} from '../src/telemetry/metrics.ts';

describe('worker metrics', () => {
  it('exposes busy slots, stage histograms in seconds and outcomes per pool', async () => {
    const registry = createMetricsRegistry({ service: 'ffleet-worker' });
    const metrics = registerWorkerMetrics(registry, { pool: 'arm', concurrency: 2 });
    const done = metrics.jobStarted();
    let text = await registry.metrics();
    expect(text).toContain(`${METRIC.workersBusy}{pool="arm",service="ffleet-worker"} 1`);
    expect(text).toContain(`${METRIC.workerSlots}{pool="arm",service="ffleet-worker"} 2`);
    expect(text).toContain(`${METRIC.jobsFinished}{pool="arm",state="failed",service="ffleet-worker"} 0`);
    expect(text).toContain('process_cpu_seconds_total');

    metrics.observeTimings({ download: 1500, ffmpeg: 42_000, upload: 250, total: 43_750 });
    metrics.ffmpegSpeed.observe({ pool: 'arm' }, 3.2);
    metrics.finished('succeeded');
    done();
    done(); // a second call must not count the job twice
    text = await registry.metrics();
    expect(text).toContain(`${METRIC.workersBusy}{pool="arm",service="ffleet-worker"} 0`);
    expect(text).toContain(`${METRIC.jobsFinished}{pool="arm",state="succeeded",service="ffleet-worker"} 1`);
    const histogram = (await registry.getMetricsAsJSON()).find((m) => m.name === METRIC.stageDuration)!;
    const sample = (metricName: string, labels: Record<string, string | number>) =>
      histogram.values.find(
        (v) =>
          (v as { metricName?: string }).metricName === metricName &&
          Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want),
      )?.value;
    expect(sample(`${METRIC.stageDuration}_sum`, { pool: 'arm', stage: 'ffmpeg' })).toBe(42);
    expect(sample(`${METRIC.stageDuration}_bucket`, { stage: 'ffmpeg', le: 60 })).toBe(1);
    expect(sample(`${METRIC.stageDuration}_bucket`, { stage: 'ffmpeg', le: 30 })).toBe(0);
    expect(sample(`${METRIC.stageDuration}_sum`, { stage: 'download' })).toBe(1.5);
    expect(text).not.toContain('stage="quality"');
  });
});

describe('gateway metrics', () => {
  it('reads queue counts once per scrape and skips pools that cannot be read', async () => {
    const registry = createMetricsRegistry({ service: 'ffleet-gateway', defaultMetrics: false });
    const reads: string[] = [];
    const metrics = registerGatewayMetrics(registry, {
      pools: ['intel', 'nvidia', 'broken'],
      readQueueCounts: async (pool) => {
        reads.push(pool);
        if (pool === 'broken') throw new Error('redis down');
        return pool === 'intel'
          ? { waiting: 3, prioritized: 1, delayed: 2, active: 4, completed: 10, failed: 1 }
          : { waiting: 0, active: 2 };
      },
    });
    metrics.jobsSubmitted.inc({ pool: 'intel' });
    const text = await registry.metrics();
    expect(reads.sort()).toEqual(['broken', 'intel', 'nvidia']);
    expect(text).toContain(`${METRIC.queueDepth}{pool="intel",service="ffleet-gateway"} 6`);
    expect(text).toContain(`${METRIC.queueDepth}{pool="nvidia",service="ffleet-gateway"} 0`);
    expect(text).toContain(`${METRIC.jobs}{pool="intel",state="active",service="ffleet-gateway"} 4`);
    expect(text).toContain(`${METRIC.jobsSubmitted}{pool="intel",service="ffleet-gateway"} 1`);
    expect(text).not.toContain('pool="broken"');
  });

  it('counts as queued only the jobs still waiting for a worker', () => {
    expect(queueDepth({ waiting: 2, prioritized: 1, delayed: 1, paused: 1, active: 5, completed: 9 })).toBe(
      5,
    );
  });
});

describe('Grafana dashboard', () => {
  it('queries only metrics ffleet exports, and every panel has a query', () => {
    const file = new URL('../../../k8s/observability/grafana-dashboard.json', import.meta.url);
    const dashboard = JSON.parse(readFileSync(file, 'utf8')) as {
      panels: { type: string; title: string; targets?: { expr: string }[] }[];
    };
    const known = new Set<string>(Object.values(METRIC));
    const used = new Set<string>();
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        for (const name of target.expr.match(/ffleet_[a-z_]+/g) ?? [])
          used.add(name.replace(/_(bucket|sum|count)$/, ''));
      }
    }
    expect([...used].filter((name) => !known.has(name))).toEqual([]);
    // Queue depth, throughput, failures and stage durations are all on it.
    for (const name of [METRIC.queueDepth, METRIC.jobsFinished, METRIC.stageDuration, METRIC.jobsRejected]) {
      expect(used).toContain(name);
    }
  });
});
