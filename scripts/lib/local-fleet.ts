/**
 * A local fleet as separate processes, the way it runs in a cluster: Redis and S3 from
 * stack.ts, the gateway on 127.0.0.1, one worker per requested pool, and Jaeger for traces
 * when asked.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { arch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Jaeger, startJaeger } from './jaeger.ts';
import { withServiceRuntime } from './service-env.ts';
import { freePort, type Stack, startStack, stopChild, TOOL_DIR, waitFor } from './stack.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const GATEWAY_MAIN = join(ROOT, 'services/gateway/src/main.ts');
const WORKER_MAIN = join(ROOT, 'services/worker/src/main.ts');

export interface LocalFleet {
  stack: Stack;
  gatewayUrl: string;
  pools: string[];
  /** Each worker's Prometheus endpoint. */
  workers: { pool: string; metricsUrl: string; pid: number }[];
  gatewayPid: number;
  /** Jaeger, when tracing is on; its UI is `jaeger.queryUrl`. */
  jaeger?: Jaeger;
  /** Why tracing is off, when it is. */
  tracingOff?: string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

/**
 * `auto`: trace into a local Jaeger when its binary is installed (`make setup` builds it),
 * else run without tracing and say why; `required`: Jaeger or fail; `off`: no tracing.
 */
export type TracingMode = 'auto' | 'required' | 'off';

async function startTracing(mode: TracingMode): Promise<{ jaeger?: Jaeger; off?: string }> {
  if (mode === 'off') return { off: 'turned off' };
  if (mode === 'auto' && !existsSync(join(TOOL_DIR, 'jaeger')))
    return { off: `no Jaeger binary in ${TOOL_DIR} (make setup builds it)` };
  try {
    return { jaeger: await startJaeger() };
  } catch (error) {
    if (mode === 'required') throw error;
    return { off: `Jaeger did not start: ${(error as Error).message.split('\n')[0]}` };
  }
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
    /** Default `off`. */
    tracing?: TracingMode;
  } = {},
): Promise<LocalFleet> {
  const tracing = await startTracing(options.tracing ?? 'off');
  const stack = await startStack(options.dataDir ? { dataDir: options.dataDir } : {}).catch(async (error) => {
    await tracing.jaeger?.stop();
    throw error;
  });
  const children: ChildProcess[] = [];
  const work = await mkdtemp(join(tmpdir(), 'ffleet-work-'));
  const port = options.gatewayPort ?? (await freePort());
  const gatewayUrl = `http://127.0.0.1:${port}`;
  const env: Record<string, string> = {
    ...stack.env,
    LOG_LEVEL: options.quiet ? 'warn' : 'info',
    FFLEET_GATEWAY: gatewayUrl,
    ...(tracing.jaeger
      ? {
          OTEL_EXPORTER_OTLP_ENDPOINT: tracing.jaeger.otlpEndpoint,
          FFLEET_TRACE_UI_URL: `${tracing.jaeger.queryUrl}/trace/`,
          // Spans reach Jaeger within a second (the SDK's default waits 5 s).
          OTEL_BSP_SCHEDULE_DELAY: '1000',
        }
      : {}),
    ...options.extraEnv,
  };
  const stdio = options.quiet
    ? (['ignore', 'ignore', 'inherit'] as const)
    : (['ignore', 'inherit', 'inherit'] as const);
  const start = (main: string, extra: Record<string, string>) => {
    const child = spawn(process.execPath, [main], {
      env: withServiceRuntime({ ...process.env, ...env, ...extra }),
      stdio: [...stdio],
    });
    children.push(child);
    return child;
  };

  // Once, however many callers ask.
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= stopAll());
  const stopAll = async () => {
    await Promise.all(children.map((c) => stopChild(c)));
    await stack.stop();
    // After the gateway and workers, which send their last spans on the way out.
    await tracing.jaeger?.stop();
    await rm(work, { recursive: true, force: true });
  };

  try {
    const gateway = start(GATEWAY_MAIN, { HOST: '127.0.0.1', PORT: String(port) });
    await waitFor(
      async () => {
        if (gateway.exitCode !== null) throw new Error('the gateway exited during start-up');
        return (await fetch(`${gatewayUrl}/readyz`)).ok;
      },
      'the gateway',
      30_000,
    );
    // One worker per entry: a pool named twice gets two workers.
    const pools = options.pools ?? [localPool()];
    const workers: LocalFleet['workers'] = [];
    for (const [index, pool] of pools.entries()) {
      const workDir = join(work, `${pool}-${index}`);
      await mkdir(workDir, { recursive: true });
      const metricsPort = await freePort();
      const worker = start(WORKER_MAIN, {
        POOL: pool,
        FFLEET_WORK_DIR: workDir,
        FFLEET_WORKER_PORT: String(metricsPort),
        FFLEET_WORKER_HOST: '127.0.0.1',
      });
      workers.push({ pool, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`, pid: worker.pid! });
    }
    await waitFor(
      async () => {
        const { pools: status } = (await (await fetch(`${gatewayUrl}/v1/pools`)).json()) as {
          pools: { name: string; workers: unknown[] }[];
        };
        const wanted = (p: string) => pools.filter((name) => name === p).length;
        return pools.every((p) => (status.find((s) => s.name === p)?.workers.length ?? 0) >= wanted(p));
      },
      'the workers',
      30_000,
    );
    return {
      stack,
      gatewayUrl,
      gatewayPid: gateway.pid!,
      pools,
      workers,
      ...(tracing.jaeger ? { jaeger: tracing.jaeger } : {}),
      ...(tracing.off ? { tracingOff: tracing.off } : {}),
      env,
      stop,
    };
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
    ...(fleet.jaeger ? { JAEGER_URL: fleet.jaeger.queryUrl } : {}),
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
