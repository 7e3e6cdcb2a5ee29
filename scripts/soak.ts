/**
 * `make soak`: many short jobs through the gateway onto four workers while the fleet is
 * knocked about: workers SIGKILLed and SIGTERMed at random and started again, Redis restarted
 * once (its append-only file on) and the S3 server once. It prints and checks what a fleet
 * owes its users under that: no job lost, none run to success twice, none failed, pickup
 * latency, and gateway and worker memory at the start, middle and end (growth under 10%).
 *
 * Settings (environment): SOAK_JOBS (10000), SOAK_WORKERS (4), SOAK_IN_FLIGHT (jobs submitted
 * and not yet finished, 8), SOAK_KILL_EVERY_MS (10000: one of the workers that may be killed goes
 * down every 5 to 15 s). Exit code 1 when a check fails.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { localPool } from './lib/local-fleet.ts';
import { steadyRssMb } from './lib/process-memory.ts';
import { withServiceRuntime } from './lib/service-env.ts';
import { freePort, startStack, stopChild, waitFor } from './lib/stack.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const JOBS = Number(process.env.SOAK_JOBS ?? 10_000);
const WORKERS = Number(process.env.SOAK_WORKERS ?? 4);
const IN_FLIGHT = Number(process.env.SOAK_IN_FLIGHT ?? 8);
const KILL_EVERY_MS = Number(process.env.SOAK_KILL_EVERY_MS ?? 10_000);
/** With no job finishing for this long, what is still pending counts as lost. */
const STUCK_MS = 5 * 60_000;

const say = (line: string) => process.stdout.write(`${line}\n`);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const stack = await startStack();
const work = await mkdtemp(join(tmpdir(), 'ffleet-soak-'));
const pool = localPool();
const port = await freePort();
const gatewayUrl = `http://127.0.0.1:${port}`;
const env: Record<string, string> = {
  ...stack.env,
  LOG_LEVEL: 'info',
  FFLEET_QUALITY_DEFAULT: 'false',
  // Jobs of a killed worker come back within seconds.
  FFLEET_LOCK_DURATION_MS: '4000',
};
const children = new Set<ChildProcess>();
/** Runs to success per job id, from the workers' own log lines: which worker, which attempt, when. */
const successfulRuns = new Map<string, string[]>();
/** Jobs whose completion was refused (lock lost) and recorded by a later attempt without running again. */
let completionsRecordedLater = 0;
// One clock for every "at N s" the soak prints (soak_seconds counts from the first submission).
const soakStart = Date.now();
const secondsIn = () => ((Date.now() - soakStart) / 1000).toFixed(1);

function start(main: string, extra: Record<string, string>, logs: 'parse' | 'ignore'): ChildProcess {
  const child = spawn(process.execPath, [join(ROOT, main)], {
    env: withServiceRuntime({ ...process.env, ...env, ...extra }),
    stdio: ['ignore', logs === 'parse' ? 'pipe' : 'ignore', 'ignore'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (logs === 'parse')
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.includes('job had already run to success')) completionsRecordedLater++;
      if (!line.includes('job ran to success')) return;
      const { jobId, attempt } = JSON.parse(line) as { jobId?: string; attempt?: number };
      if (!jobId) return;
      const runs = successfulRuns.get(jobId) ?? [];
      runs.push(`worker pid ${child.pid} attempt ${attempt} at ${secondsIn()} s`);
      successfulRuns.set(jobId, runs);
    });
  return child;
}

async function startWorker(index: number): Promise<ChildProcess> {
  const workDir = join(work, `worker-${index}-${Date.now()}`);
  await mkdir(workDir, { recursive: true });
  return start(
    'services/worker/src/main.ts',
    { POOL: pool, FFLEET_WORK_DIR: workDir, FFLEET_WORKER_PORT: '0', FFLEET_WORKER_HOST: '127.0.0.1' },
    'parse',
  );
}

/** The fields of the gateway's answers the soak reads. */
interface Reply {
  id: string;
  state: string;
  createdAt: string;
  startedAt: string | null;
  pools?: { name: string; workers: unknown[] }[];
}

async function api(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Reply | undefined }> {
  try {
    const response = await fetch(gatewayUrl + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined };
  } catch {
    return { status: 0, body: undefined };
  }
}

let failed = false;
const check = (name: string, value: number, ok: boolean, unit = '') => {
  say(`${name}: ${Number.isInteger(value) ? value : value.toFixed(1)}${unit}${ok ? '' : '  FAILED'}`);
  if (!ok) failed = true;
};

try {
  const input = join(work, 'input.mp4');
  execFileSync('ffmpeg', [
    ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=25'],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '1'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-shortest', input],
  ]);
  await stack.putFile('soak/input.mp4', input);

  const gateway = start('services/gateway/src/main.ts', { HOST: '127.0.0.1', PORT: String(port) }, 'ignore');
  await waitFor(async () => (await api('GET', '/readyz')).status === 200, 'the gateway', 30_000);
  // Worker 0 is never disturbed: its memory is the worker's memory over the run.
  const workers: ChildProcess[] = [];
  for (let i = 0; i < WORKERS; i++) workers.push(await startWorker(i));
  await waitFor(
    async () =>
      ((await api('GET', '/v1/pools')).body?.pools ?? []).some(
        (p) => p.name === pool && p.workers.length >= WORKERS,
      ),
    'the workers',
    60_000,
  );
  say(
    `soak: ${JOBS} jobs on ${WORKERS} ${pool} workers, ${IN_FLIGHT} in flight, a worker killed every ${KILL_EVERY_MS} ms`,
  );

  // Workers 1.. are killed at random, one at a time, and started again.
  let chaos = true;
  const kills: string[] = [];
  // Ends the wait for the next kill when the jobs are done.
  const chaosDone = new AbortController();
  const chaosLoop = (async () => {
    while (chaos) {
      const waited = await sleep(KILL_EVERY_MS * (0.5 + Math.random()), true, {
        signal: chaosDone.signal,
      }).catch(() => false);
      if (!waited || !chaos || WORKERS < 2) break;
      const index = 1 + Math.floor(Math.random() * (WORKERS - 1));
      const signal = Math.random() < 0.5 ? 'SIGKILL' : 'SIGTERM';
      kills.push(`${signal} to worker pid ${workers[index]!.pid} at ${secondsIn()} s`);
      await stopChild(workers[index]!, signal);
      workers[index] = await startWorker(index);
    }
  })();

  const jobs: string[] = [];
  const pending = new Map<string, number>();
  const pickupMs: number[] = [];
  const finalStates = new Map<string, string>();
  const memory: { point: string; gateway: number; worker: number }[] = [];
  const memoryPoints = [
    { at: Math.ceil(JOBS * 0.1), point: 'start' },
    { at: Math.ceil(JOBS * 0.55), point: 'middle' },
    { at: JOBS, point: 'end' },
  ];
  const faults = [
    { at: Math.ceil(JOBS / 3), what: 'Redis', restart: () => stack.restartRedis() },
    { at: Math.ceil((JOBS * 2) / 3), what: 'the S3 server', restart: () => stack.restartS3() },
  ];
  let lastFinish = Date.now();
  const began = Date.now();

  while (finalStates.size < JOBS && Date.now() - lastFinish < STUCK_MS) {
    while (pending.size < IN_FLIGHT && jobs.length < JOBS) {
      const index = jobs.length;
      const { status, body } = await api('POST', '/v1/jobs', {
        name: `soak-${index}`,
        compute: pool,
        idempotencyKey: `soak-${index}`,
        inputs: [{ url: `s3://${stack.bucket}/soak/input.mp4` }],
        outputs: [
          {
            url: `s3://${stack.bucket}/soak/out/${index}.mp4`,
            options: '-c:v libx264 -preset ultrafast -c:a copy',
          },
        ],
      });
      if (status !== 202 || !body) {
        // Redis away: the gateway said so; the same key is tried again.
        await sleep(500);
        break;
      }
      if (!pending.has(body.id)) {
        jobs.push(body.id);
        pending.set(body.id, index);
      }
    }
    await Promise.all(
      [...pending.keys()].map(async (id) => {
        const { status, body } = await api('GET', `/v1/jobs/${id}`);
        if (status === 404) {
          finalStates.set(id, 'lost');
          pending.delete(id);
        }
        if (status !== 200 || !body || !['succeeded', 'failed', 'cancelled'].includes(body.state)) return;
        finalStates.set(id, body.state);
        pending.delete(id);
        lastFinish = Date.now();
        if (body.startedAt) pickupMs.push(Date.parse(body.startedAt) - Date.parse(body.createdAt));
      }),
    );
    const done = finalStates.size;
    while (faults[0] && done >= faults[0].at) {
      const fault = faults.shift()!;
      say(`  ${done} finished: restarting ${fault.what} at ${secondsIn()} s`);
      await fault.restart();
    }
    while (memoryPoints[0] && done >= memoryPoints[0].at) {
      const { point } = memoryPoints.shift()!;
      const reading = {
        point,
        gateway: await steadyRssMb(gateway.pid!),
        worker: await steadyRssMb(workers[0]!.pid!),
      };
      memory.push(reading);
      say(
        `  ${done} finished at ${secondsIn()} s: gateway ${reading.gateway.toFixed(1)} MiB, worker ${reading.worker.toFixed(1)} MiB`,
      );
    }
    await sleep(200);
  }
  chaos = false;
  chaosDone.abort();
  await chaosLoop;

  const states = [...finalStates.values()];
  const lost = JOBS - states.filter((s) => s !== 'lost').length;
  const runTwice = [...successfulRuns].filter(([, runs]) => runs.length > 1);
  const twice = runTwice.length;
  const failures = states.filter((s) => s === 'failed' || s === 'cancelled').length;
  pickupMs.sort((a, b) => a - b);
  say(`soak_seconds: ${Math.round((Date.now() - began) / 1000)}`);
  say(`soak_worker_restarts: ${kills.length}`);
  check('soak_jobs_lost', lost, lost === 0);
  check('soak_jobs_succeeded_twice', twice, twice === 0);
  say(`soak_completions_recorded_later: ${completionsRecordedLater}`);
  // Which workers ran it and when, beside the kills and restarts, to tell a lost lock from a kill.
  for (const [jobId, runs] of runTwice) say(`  ${jobId}: ${runs.join('; ')}`);
  if (twice > 0) say(`  worker restarts: ${kills.join('; ')}`);
  check('soak_jobs_failed', failures, failures === 0);
  say(`soak_pickup_p50_ms: ${percentile(pickupMs, 50)}`);
  say(`soak_pickup_p95_ms: ${percentile(pickupMs, 95)}`);
  for (const who of ['gateway', 'worker'] as const) {
    const [first, middle, last] = memory.map((m) => m[who]);
    if (first === undefined || last === undefined) {
      check(`soak_${who}_rss_growth_pct`, Number.NaN, false);
      continue;
    }
    say(
      `soak_${who}_rss_mb: start ${first.toFixed(1)}, middle ${middle?.toFixed(1)}, end ${last.toFixed(1)}`,
    );
    const growth = ((last - first) / first) * 100;
    check(`soak_${who}_rss_growth_pct`, growth, growth < 10, '%');
  }
} finally {
  await Promise.all([...children].map((child) => stopChild(child)));
  await stack.stop();
  await rm(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
