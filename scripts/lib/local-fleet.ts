/**
 * A local fleet as separate processes, the way it runs in a cluster: Redis and S3 from
 * stack.ts, the gateway on 127.0.0.1, and one worker per requested pool.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { arch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, type Stack, startStack, stopChild } from './stack.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const GATEWAY_MAIN = join(ROOT, 'services/gateway/src/main.ts');
const WORKER_MAIN = join(ROOT, 'services/worker/src/main.ts');

export interface LocalFleet {
  stack: Stack;
  gatewayUrl: string;
  pools: string[];
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** The pool that matches this machine's CPU: arm on arm64, else intel or amd by vendor. */
export function localPool(): string {
  if (arch() === 'arm64') return 'arm';
  try {
    return /AuthenticAMD/.test(readFileSync('/proc/cpuinfo', 'utf8')) ? 'amd' : 'intel';
  } catch {
    return 'intel';
  }
}

export async function startLocalFleet(
  options: {
    pools?: string[];
    extraEnv?: Record<string, string>;
    quiet?: boolean;
    gatewayPort?: number;
    dataDir?: string;
  } = {},
): Promise<LocalFleet> {
  const stack = await startStack(options.dataDir ? { dataDir: options.dataDir } : {});
  const children: ChildProcess[] = [];
  const work = await mkdtemp(join(tmpdir(), 'ffleet-work-'));
  const port = options.gatewayPort ?? (await freePort());
  const gatewayUrl = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    ...stack.env,
    LOG_LEVEL: options.quiet ? 'warn' : 'info',
    FFLEET_GATEWAY: gatewayUrl,
    ...options.extraEnv,
  };
  const stdio = options.quiet
    ? (['ignore', 'ignore', 'inherit'] as const)
    : (['ignore', 'inherit', 'inherit'] as const);
  const start = (main: string, extra: Record<string, string>) => {
    const child = spawn(process.execPath, [main], {
      env: { ...process.env, ...env, ...extra },
      stdio: [...stdio],
    });
    children.push(child);
    return child;
  };

  const stop = async () => {
    await Promise.all(children.map((c) => stopChild(c)));
    await stack.stop();
    await rm(work, { recursive: true, force: true });
  };

  try {
    const gateway = start(GATEWAY_MAIN, { HOST: '127.0.0.1', PORT: String(port) });
    await waitUntil(async () => {
      if (gateway.exitCode !== null) throw new Error('the gateway exited during start-up');
      return (await fetch(`${gatewayUrl}/readyz`)).ok;
    });
    const pools = options.pools ?? [localPool()];
    for (const pool of pools) {
      await mkdir(join(work, pool), { recursive: true });
      start(WORKER_MAIN, { POOL: pool, FFLEET_WORK_DIR: join(work, pool), FFLEET_WORKER_PORT: '0' });
    }
    await waitUntil(async () => {
      const { pools: status } = (await (await fetch(`${gatewayUrl}/v1/pools`)).json()) as {
        pools: { name: string; workers: unknown[] }[];
      };
      return pools.every((p) => (status.find((s) => s.name === p)?.workers.length ?? 0) > 0);
    });
    return { stack, gatewayUrl, pools, env, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Writes the settings other tools (the CLI, scripts) use to attach to a running fleet. */
export async function writeDevEnv(
  file: string,
  fleet: LocalFleet,
  extra: Record<string, string> = {},
): Promise<void> {
  const values = {
    FFLEET_GATEWAY: fleet.gatewayUrl,
    REDIS_URL: fleet.stack.redisUrl,
    S3_ENDPOINT: fleet.stack.s3Endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: fleet.stack.accessKeyId,
    AWS_SECRET_ACCESS_KEY: fleet.stack.secretAccessKey,
    FFLEET_BUCKET: fleet.stack.bucket,
    FFLEET_POOLS: fleet.pools.join(','),
    ...extra,
  };
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(
    file,
    `${Object.entries(values)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
  );
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      last = error;
      if (String(error).includes('exited')) break;
    }
    await sleep(100);
  }
  throw new Error(`local fleet did not start: ${last ?? 'timed out'}`);
}
