/**
 * The local stack ffleet runs on: a real Redis and a real S3-compatible server (versitygw),
 * each on a free loopback port with its data in a temporary directory. Used by `make dev`,
 * `make demo`, the end-to-end tests and the benchmarks. `stop()` ends both and removes data.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';

const run = promisify(execFile);

export const TOOL_DIR = join(process.env.FFLEET_CACHE ?? join(homedir(), '.cache', 'ffleet'), 'bin');

/** An S3 client for a stack's server and bucket (the caller destroys it). */
export function stackS3Client(
  stack: Pick<Stack, 's3Endpoint' | 'accessKeyId' | 'secretAccessKey'>,
): S3Client {
  return new S3Client({
    endpoint: stack.s3Endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: stack.accessKeyId, secretAccessKey: stack.secretAccessKey },
  });
}

export interface Stack {
  /** Where Redis and S3 keep their data; S3 objects are files under `<dataDir>/s3/<bucket>/`. */
  dataDir: string;
  /** One node's address when `redisCluster`: the others are found from it. */
  redisUrl: string;
  /** Redis is a three-master Redis Cluster. */
  redisCluster: boolean;
  s3Endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Environment for gateway and worker processes attached to this stack. */
  env: Record<string, string>;
  /** Restarts Redis on the same port and data (AOF), as after a crash. */
  restartRedis(): Promise<void>;
  /** Restarts the S3 server on the same port and data, as after a crash or a rollout. */
  restartS3(): Promise<void>;
  /** Kills the S3 server (an outage, mid-request): requests to it are refused until `startS3`. */
  stopS3(): Promise<void>;
  /** Starts the S3 server again on the same port and data. */
  startS3(): Promise<void>;
  /** Sends Redis a signal: SIGSTOP pauses it (a hung server, a partition), SIGCONT resumes it, SIGKILL kills it. */
  signalRedis(signal: NodeJS.Signals): void;
  /** Puts a local file into the stack's bucket under `key`. */
  putFile(key: string, file: string): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * `dataDir` keeps Redis and S3 data after stop (the demo leaves its outputs there to look
 * at); by default a temporary directory is used and removed.
 */
/** One command to one Redis server, on a connection of its own; undefined when it does not answer. */
async function redisCommand(port: number, command: [string, ...string[]]): Promise<unknown> {
  const client = new Redis(port, '127.0.0.1', {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.call(...command);
  } finally {
    client.disconnect();
  }
}

/**
 * `redisCluster`: three Redis Cluster masters instead of one server (also with
 * FFLEET_TEST_REDIS_CLUSTER=1 in the environment, for running the end-to-end suite on one).
 */
export async function startStack(
  options: { bucket?: string; dataDir?: string; redisCluster?: boolean } = {},
): Promise<Stack> {
  options = { redisCluster: process.env.FFLEET_TEST_REDIS_CLUSTER === '1', ...options };
  const dir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'ffleet-stack-')));
  if (options.dataDir)
    await rm(dir, { recursive: true, force: true }).then(() => mkdir(dir, { recursive: true }));
  const bucket = options.bucket ?? 'ffleet-local';
  const accessKeyId = 'ffleetlocal';
  const secretAccessKey = 'ffleetlocalsecret';
  const children: ChildProcess[] = [];

  // One Redis server, or three masters of a Redis Cluster (`redisCluster`), each with its own
  // append-only file, so a restart keeps every job.
  const redisPorts = await Promise.all(
    Array.from({ length: options.redisCluster ? 3 : 1 }, () => freePort()),
  );
  const startRedisNode = async (port: number) => {
    const nodeDir = options.redisCluster ? join(dir, `redis-${port}`) : dir;
    await mkdir(nodeDir, { recursive: true });
    const node = spawn(
      'redis-server',
      [
        ...['--bind', '127.0.0.1', '--port', String(port), '--dir', nodeDir],
        ...['--appendonly', 'yes', '--save', '', '--protected-mode', 'yes'],
        ...(options.redisCluster ? ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'] : []),
      ],
      { stdio: 'ignore' },
    );
    children.push(node);
    await waitFor(async () => (await redisCommand(port, ['ping'])) === 'PONG', 'redis-server');
    return node;
  };
  const startRedis = async () => {
    const nodes = await Promise.all(redisPorts.map(startRedisNode));
    if (options.redisCluster) {
      // The first start makes the cluster; a restart finds it again in each node's nodes.conf.
      const info = await redisCommand(redisPorts[0]!, ['cluster', 'info']);
      if (/cluster_slots_assigned:0\b/.test(String(info)))
        await run('redis-cli', [
          '--cluster',
          'create',
          ...redisPorts.map((port) => `127.0.0.1:${port}`),
          '--cluster-replicas',
          '0',
          '--cluster-yes',
        ]);
      await waitFor(async () => {
        const states = await Promise.all(redisPorts.map((port) => redisCommand(port, ['cluster', 'info'])));
        return states.every((state) => /cluster_state:ok/.test(String(state)));
      }, 'the Redis cluster');
    }
    return nodes;
  };
  let redis = await startRedis();

  const s3Port = await freePort();
  const s3Dir = join(dir, 's3');
  // Object metadata (ETags among it, which multipart uploads need) in files beside the data,
  // so any filesystem will do (xattrs are not everywhere).
  const s3MetaDir = join(dir, 'meta');
  await mkdir(s3Dir);
  await mkdir(s3MetaDir);
  const s3Endpoint = `http://127.0.0.1:${s3Port}`;
  const startS3 = async () => {
    const server = spawn(
      join(TOOL_DIR, 'versitygw'),
      [
        '--port',
        `127.0.0.1:${s3Port}`,
        '--access',
        accessKeyId,
        '--secret',
        secretAccessKey,
        '--quiet',
        'posix',
        '--sidecar',
        s3MetaDir,
        s3Dir,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    children.push(server);
    let serverErr = '';
    server.stderr?.on('data', (d) => {
      serverErr += d;
    });
    const s3 = stackS3Client({ s3Endpoint, accessKeyId, secretAccessKey });
    try {
      await waitFor(async () => {
        if (server.exitCode !== null) throw new Error(`versitygw exited: ${serverErr}`);
        try {
          await s3.send(new CreateBucketCommand({ Bucket: bucket }));
        } catch (error) {
          // A restarted server still has the bucket.
          if ((error as Error).name !== 'BucketAlreadyOwnedByYou') throw error;
        }
        return true;
      }, 'versitygw');
    } catch (error) {
      // Nothing started here may outlive a stack that failed to start.
      await Promise.all(children.map((child) => stopChild(child)));
      throw error;
    } finally {
      s3.destroy();
    }
    return server;
  };
  let s3Server = await startS3();
  const putFile = async (key: string, file: string) => {
    const client = stackS3Client({ s3Endpoint, accessKeyId, secretAccessKey });
    try {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await readFile(file) }));
    } finally {
      client.destroy();
    }
  };

  const redisUrl = `redis://127.0.0.1:${redisPorts[0]}`;
  return {
    dataDir: dir,
    redisUrl,
    redisCluster: Boolean(options.redisCluster),
    s3Endpoint,
    bucket,
    accessKeyId,
    secretAccessKey,
    env: {
      REDIS_URL: redisUrl,
      // A cluster needs the fleet's keys in one slot: a hash tag in the queue prefix.
      ...(options.redisCluster ? { FFLEET_REDIS_CLUSTER: 'true', FFLEET_QUEUE_PREFIX: '{ffleet}' } : {}),
      S3_ENDPOINT: s3Endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: secretAccessKey,
      FFLEET_BUCKET: bucket,
    },
    signalRedis(signal) {
      for (const node of redis) node.kill(signal);
    },
    async restartRedis() {
      await Promise.all(redis.map((node) => stopChild(node)));
      redis = await startRedis();
    },
    async restartS3() {
      await stopChild(s3Server);
      s3Server = await startS3();
    },
    async stopS3() {
      await stopChild(s3Server, 'SIGKILL');
    },
    async startS3() {
      if (s3Server.exitCode === null && s3Server.signalCode === null) return;
      s3Server = await startS3();
    },
    putFile,
    async stop() {
      await Promise.all(children.map((child) => stopChild(child)));
      if (!options.dataDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export async function waitFor(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
      if (String(error).includes('exited')) break;
    }
    await sleep(100);
  }
  throw new Error(`${what} did not become ready: ${lastError ?? 'timed out'}`);
}
