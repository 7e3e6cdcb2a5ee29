import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metric names, shared with the Grafana dashboard and KEDA triggers. */
export const METRIC = {
  /** Gauge {pool, state}: jobs in each BullMQ state, read from Redis at scrape time (gateway). */
  jobs: 'ffleet_jobs',
  /** Gauge {pool}: jobs waiting for a worker (waiting + prioritized + delayed + paused) (gateway). */
  queueDepth: 'ffleet_queue_depth',
  /** Counter {pool}: jobs accepted by the gateway. */
  jobsSubmitted: 'ffleet_jobs_submitted_total',
  /** Counter {reason}: submissions refused with a 4xx (gateway). */
  jobsRejected: 'ffleet_jobs_rejected_total',
  /** Gauge {pool}: the most jobs a pool's queue takes waiting for a worker (maxQueued) (gateway). */
  queueCap: 'ffleet_queue_cap',
  /** Counter {token}: API requests refused with 429 rate_limited, per token name (gateway). */
  rateLimited: 'ffleet_requests_rate_limited_total',
  /** Counter {pool, state}: attempts a worker finished: succeeded | failed | cancelled | requeued. */
  jobsFinished: 'ffleet_jobs_finished_total',
  /** Histogram {pool, stage}: seconds per stage: queue | download | ffmpeg | upload | quality | total. */
  stageDuration: 'ffleet_stage_duration_seconds',
  /** Histogram {pool}: ffmpeg speed as a multiple of real time. */
  ffmpegSpeed: 'ffleet_ffmpeg_speed_ratio',
  /** Gauge {pool}: jobs this worker is running now. */
  workersBusy: 'ffleet_workers_busy',
  /** Gauge {pool}: jobs this worker can run at once (its concurrency). */
  workerSlots: 'ffleet_worker_slots',
} as const;

export const JOB_STAGES = ['queue', 'download', 'ffmpeg', 'upload', 'quality', 'total'] as const;
export type JobStage = (typeof JOB_STAGES)[number];
export type FinishedState = 'succeeded' | 'failed' | 'cancelled' | 'requeued';

/** BullMQ job states, as `queue.getJobCounts()` names them. */
export type QueueJobState =
  | 'waiting'
  | 'prioritized'
  | 'delayed'
  | 'paused'
  | 'active'
  | 'completed'
  | 'failed'
  | 'waiting-children';
export type QueueStateCounts = Partial<Record<QueueJobState, number>>;
/** States whose jobs still need a worker: what autoscaling looks at. */
export const QUEUED_STATES: readonly QueueJobState[] = ['waiting', 'prioritized', 'delayed', 'paused'];

// From sub-second uploads to hour-long encodes.
const STAGE_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200];
const SPEED_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64];

/** A registry for one process, with Node's default process metrics and a `service` label. */
export function createMetricsRegistry(options: { service: string; defaultMetrics?: boolean }): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  return registry;
}

export function queueDepth(counts: QueueStateCounts): number {
  return QUEUED_STATES.reduce((sum, state) => sum + (counts[state] ?? 0), 0);
}

export interface GatewayMetrics {
  jobsSubmitted: Counter<'pool'>;
  jobsRejected: Counter<'reason'>;
  rateLimited: Counter<'token'>;
}

/**
 * The gateway's metrics. Queue gauges are read from Redis when Prometheus scrapes, once per
 * scrape for both gauges; a pool whose counts cannot be read is left out of that scrape.
 */
export function registerGatewayMetrics(
  registry: Registry,
  options: {
    pools: readonly string[];
    readQueueCounts: (pool: string) => Promise<QueueStateCounts>;
    /** Each capped pool's maxQueued. */
    queueCaps?: ReadonlyMap<string, number>;
  },
): GatewayMetrics {
  let snapshot: { at: number; counts: Promise<Map<string, QueueStateCounts>> } | undefined;
  const readAll = (): Promise<Map<string, QueueStateCounts>> => {
    if (!snapshot || Date.now() - snapshot.at > 1000) {
      snapshot = {
        at: Date.now(),
        counts: Promise.all(
          options.pools.map(async (pool) => {
            try {
              return [pool, await options.readQueueCounts(pool)] as const;
            } catch {
              return undefined;
            }
          }),
        ).then((rows) => new Map(rows.filter((row) => row !== undefined))),
      };
    }
    return snapshot.counts;
  };

  new Gauge({
    name: METRIC.jobs,
    help: 'Jobs in each queue state, per pool',
    labelNames: ['pool', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const [pool, counts] of await readAll()) {
        for (const [state, count] of Object.entries(counts)) this.set({ pool, state }, count ?? 0);
      }
    },
  });
  new Gauge({
    name: METRIC.queueDepth,
    help: 'Jobs waiting for a worker, per pool',
    labelNames: ['pool'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const [pool, counts] of await readAll()) this.set({ pool }, queueDepth(counts));
    },
  });
  const cap = new Gauge({
    name: METRIC.queueCap,
    help: 'The most jobs a pool takes waiting for a worker (its maxQueued); past it submissions get 429',
    labelNames: ['pool'] as const,
    registers: [registry],
  });
  for (const [pool, max] of options.queueCaps ?? []) cap.set({ pool }, max);
  return {
    rateLimited: new Counter({
      name: METRIC.rateLimited,
      help: 'API requests refused with 429 rate_limited, per token name (none without tokens)',
      labelNames: ['token'] as const,
      registers: [registry],
    }),
    jobsSubmitted: new Counter({
      name: METRIC.jobsSubmitted,
      help: 'Jobs accepted by the gateway, per pool',
      labelNames: ['pool'] as const,
      registers: [registry],
    }),
    jobsRejected: new Counter({
      name: METRIC.jobsRejected,
      help: 'Job submissions refused, per error code',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
  };
}

export interface WorkerMetrics {
  jobsFinished: Counter<'pool' | 'state'>;
  stageDuration: Histogram<'pool' | 'stage'>;
  ffmpegSpeed: Histogram<'pool'>;
  workersBusy: Gauge<'pool'>;
  /** Marks a job as running; call the returned function once when it stops. */
  jobStarted(): () => void;
  /** Records stage durations given in milliseconds, e.g. a JobResult's `timings`. */
  observeTimings(timings: Partial<Record<JobStage, number | undefined>>): void;
  finished(state: FinishedState): void;
}

export function registerWorkerMetrics(
  registry: Registry,
  options: { pool: string; concurrency: number },
): WorkerMetrics {
  const pool = options.pool;
  const jobsFinished = new Counter({
    name: METRIC.jobsFinished,
    help: 'Job attempts finished by workers, per pool and outcome',
    labelNames: ['pool', 'state'] as const,
    registers: [registry],
  });
  const stageDuration = new Histogram({
    name: METRIC.stageDuration,
    help: 'Seconds spent in each job stage, per pool',
    labelNames: ['pool', 'stage'] as const,
    buckets: STAGE_BUCKETS,
    registers: [registry],
  });
  const ffmpegSpeed = new Histogram({
    name: METRIC.ffmpegSpeed,
    help: 'ffmpeg speed as a multiple of real time, per pool',
    labelNames: ['pool'] as const,
    buckets: SPEED_BUCKETS,
    registers: [registry],
  });
  const workersBusy = new Gauge({
    name: METRIC.workersBusy,
    help: 'Jobs this worker is running now',
    labelNames: ['pool'] as const,
    registers: [registry],
  });
  const slots = new Gauge({
    name: METRIC.workerSlots,
    help: 'Jobs this worker can run at once',
    labelNames: ['pool'] as const,
    registers: [registry],
  });
  slots.set({ pool }, options.concurrency);
  workersBusy.set({ pool }, 0);
  // Zero series exist from the start, so rate() and absent() behave before the first job.
  for (const state of ['succeeded', 'failed', 'cancelled', 'requeued'] as const)
    jobsFinished.inc({ pool, state }, 0);

  return {
    jobsFinished,
    stageDuration,
    ffmpegSpeed,
    workersBusy,
    jobStarted() {
      workersBusy.inc({ pool });
      let done = false;
      return () => {
        if (done) return;
        done = true;
        workersBusy.dec({ pool });
      };
    },
    observeTimings(timings) {
      for (const stage of JOB_STAGES) {
        const ms = timings[stage];
        if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0)
          stageDuration.observe({ pool, stage }, ms / 1000);
      }
    },
    finished(state) {
      jobsFinished.inc({ pool, state });
    },
  };
}
