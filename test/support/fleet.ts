/**
 * A whole local fleet for end-to-end tests: real Redis and S3 (scripts/lib/stack.ts), the
 * gateway in this process on a loopback port, and workers as child processes so tests can
 * SIGKILL or SIGTERM them like Kubernetes would.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  type FleetConfig,
  isFinishedState,
  isTimingRecord,
  loadFleetConfig,
  openRedis,
  type RedisClient,
  type TimingRecord,
} from '@ffleet/core';
import { buildGateway, type GatewayOptions } from '@ffleet/gateway';
import { withServiceRuntime } from '../../scripts/lib/service-env.ts';
import { type Stack, stackS3Client, startStack, stopChild } from '../../scripts/lib/stack.ts';

const WORKER_MAIN = new URL('../../services/worker/src/main.ts', import.meta.url).pathname;

export interface WorkerProcess {
  child: ChildProcess;
  workDir: string;
  output: () => string;
  exited: Promise<number | null>;
}

export interface TestFleet {
  stack: Stack;
  gateway: Awaited<ReturnType<typeof buildGateway>>;
  baseUrl: string;
  s3: S3Client;
  bucket: string;
  env: Record<string, string>;
  dir: string;
  startWorker(pool: string, extraEnv?: Record<string, string>): Promise<WorkerProcess>;
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /** POSTs a job to /v1/jobs: its id, or an error with the gateway's answer when it was not accepted (202). */
  submit(body: unknown): Promise<string>;
  waitFor<T>(
    id: string,
    done: (job: T & { state: string }) => boolean,
    timeoutMs?: number,
  ): Promise<T & { state: string }>;
  /** The fleet's configuration as its gateway reads it, for another gateway on the same fleet. */
  config(): FleetConfig;
  /** A connection to the fleet's Redis (one server or a cluster), closed when the fleet stops. */
  redis(): RedisClient;
  put(key: string, file: string): Promise<void>;
  get(key: string): Promise<Buffer>;
  exists(key: string): Promise<boolean>;
  stop(): Promise<void>;
}

/**
 * `env` goes to the gateway's config and every worker; `gateway` adds gateway options (a
 * tracer, the trace UI address). Quality is off by default here, to keep tests that are not
 * about it fast; tests about it turn it on per job or with FFLEET_QUALITY_DEFAULT.
 */
export async function startFleet(
  options: {
    env?: Record<string, string>;
    gateway?: Omit<GatewayOptions, 'config'>;
    /** Three Redis Cluster masters instead of one Redis server. */
    redisCluster?: boolean;
    /** The bearer token `api` (and so `waitFor` and `startWorker`) sends, for a gateway with tokens. */
    apiToken?: string;
  } = {},
): Promise<TestFleet> {
  const stack = await startStack(
    options.redisCluster === undefined ? {} : { redisCluster: options.redisCluster },
  );
  const dir = await mkdtemp(join(tmpdir(), 'ffleet-e2e-'));
  const env: Record<string, string> = {
    ...stack.env,
    // A hash tag, so the fleet's keys share one slot on a Redis Cluster too.
    FFLEET_QUEUE_PREFIX: `{t${Date.now().toString(36)}}`,
    LOG_LEVEL: 'warn',
    FFLEET_WORKER_PORT: '0',
    FFLEET_LOCK_DURATION_MS: '4000',
    FFLEET_QUALITY_DEFAULT: 'false',
    ...options.env,
  };
  const config = () => loadFleetConfig({ ...process.env, ...env });
  const gateway = await buildGateway({ ...options.gateway, config: config() });
  await gateway.listen({ host: '127.0.0.1', port: 0 });
  const address = gateway.server.address();
  const baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const s3 = stackS3Client(stack);
  const workers: WorkerProcess[] = [];
  const connections: RedisClient[] = [];
  const poolWorkerIds = async (pool: string): Promise<string[]> => {
    const { body } = await fleet.api<{ pools: { name: string; workers: { id: string }[] }[] }>(
      'GET',
      '/v1/pools',
    );
    return body.pools.find((p) => p.name === pool)?.workers.map((w) => w.id) ?? [];
  };

  const fleet: TestFleet = {
    stack,
    gateway,
    baseUrl,
    s3,
    bucket: stack.bucket,
    env,
    dir,
    async startWorker(pool, extraEnv = {}) {
      const before = new Set(await poolWorkerIds(pool));
      const workDir = join(dir, `work-${workers.length}`);
      const child = spawn(process.execPath, [WORKER_MAIN], {
        env: withServiceRuntime({
          ...process.env,
          ...env,
          POOL: pool,
          FFLEET_WORK_DIR: workDir,
          ...extraEnv,
        }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout!.on('data', (d) => {
        output += d;
      });
      child.stderr!.on('data', (d) => {
        output += d;
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const worker = { child, workDir, output: () => output, exited };
      workers.push(worker);
      // Ready when a new worker id shows up in the pool's registry.
      // A worker starts in a few seconds; a machine busy with ffmpeg can take much longer.
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`worker exited early: ${output}`);
        const ids = await poolWorkerIds(pool);
        if (ids.some((id) => !before.has(id))) return worker;
        await sleep(100);
      }
      throw new Error(`worker did not start: ${output}`);
    },
    async api(method, path, body) {
      const response = await fetch(baseUrl + path, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(options.apiToken ? { authorization: `Bearer ${options.apiToken}` } : {}),
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    },
    async submit(body) {
      const { status, body: answer } = await fleet.api<{ id: string }>('POST', '/v1/jobs', body);
      if (status !== 202) throw new Error(`the job was not accepted: ${status} ${JSON.stringify(answer)}`);
      return answer.id;
    },
    async waitFor(id, done, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let last: unknown;
      while (Date.now() < deadline) {
        const { status, body } = await fleet.api<never>('GET', `/v1/jobs/${id}`);
        if (status === 200) {
          last = body;
          if (done(body)) return body;
        }
        await sleep(100);
      }
      throw new Error(`job ${id} did not reach the expected state: ${JSON.stringify(last)}`);
    },
    config,
    redis() {
      const connection = openRedis(stack, { maxRetriesPerRequest: null });
      connections.push(connection);
      return connection;
    },
    async put(key, file) {
      await s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: await readFile(file) }));
    },
    async get(key) {
      const response = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: key }));
      return Buffer.from(await response.Body!.transformToByteArray());
    },
    async exists(key) {
      try {
        await s3.send(new HeadObjectCommand({ Bucket: stack.bucket, Key: key }));
        return true;
      } catch {
        return false;
      }
    },
    async stop() {
      await Promise.all(workers.map((w) => stopChild(w.child, 'SIGKILL')));
      await Promise.all(
        workers.map((w) =>
          ffmpegProcesses(w.workDir).then((pids) => {
            for (const pid of pids) process.kill(pid, 'SIGKILL');
          }),
        ),
      );
      await gateway.close();
      for (const connection of connections) connection.disconnect();
      s3.destroy();
      await stack.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return fleet;
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFile(file, JSON.stringify(value));
}

/** A shell script `dir/name` made of `lines`, executable; returns its path. */
export async function shellScript(dir: string, name: string, lines: string[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${lines.join('\n')}\n`, { mode: 0o755 });
  return path;
}

/**
 * An ffmpeg (`dir/name`) that fails, as a broken encoder would, every run whose arguments match
 * the shell `case` pattern `args`, printing "simulated encoder fault"; any other run is the real
 * ffmpeg. Returns its path, for a worker's FFMPEG_PATH.
 */
export function failingFfmpeg(dir: string, name: string, args: string): Promise<string> {
  return shellScript(dir, name, [
    `case "$*" in ${args}) echo "simulated encoder fault" >&2; exit 1;; esac`,
    'exec ffmpeg "$@"',
  ]);
}

/** Pids of ffmpeg processes working inside a worker's scratch dir. */
export async function ffmpegProcesses(workDir: string): Promise<number[]> {
  return new Promise((resolve) => {
    execFile('pgrep', ['-f', `ffmpeg .*${workDir}/`], (_error, stdout) =>
      resolve(
        stdout
          .split('\n')
          .map((l) => Number(l.trim()))
          .filter((n) => n > 0),
      ),
    );
  });
}

/** Kills a worker the way a lost node does: the process and its ffmpeg, at once. */
export async function killWorker(worker: WorkerProcess): Promise<void> {
  const orphans = await ffmpegProcesses(worker.workDir);
  worker.child.kill('SIGKILL');
  for (const pid of orphans) process.kill(pid, 'SIGKILL');
  await worker.exited;
}

/** Every job's timing record the fleet's workers wrote (one per run of a job). */
export async function timingRecords(fleet: TestFleet): Promise<TimingRecord[]> {
  const listed = await fleet.s3.send(
    new ListObjectsV2Command({ Bucket: fleet.bucket, Prefix: 'metrics/timings/' }),
  );
  const records = await Promise.all(
    (listed.Contents ?? []).map(async (o) => JSON.parse((await fleet.get(o.Key!)).toString()) as unknown),
  );
  return records.filter(isTimingRecord);
}

/** A job that will not change any more. */
export const finished = (job: { state: string }): boolean => isFinishedState(job.state);

/** A job whose ffmpeg is running. */
export const encoding = (job: { state: string; progress?: { stage: string } | null }): boolean =>
  job.state === 'running' && job.progress?.stage === 'ffmpeg';
