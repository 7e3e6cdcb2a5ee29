/**
 * A local Jaeger v2 (pinned in scripts/tools.env, built from source with Go into the tool cache)
 * with in-memory storage, OTLP/HTTP in and the query API out, all on free loopback ports.
 * Used by `make dev`, `make demo` and the tracing tests.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, stopChild, TOOL_DIR, waitFor } from './stack.ts';

const exec = promisify(execFile);
const MODULE = 'github.com/jaegertracing/jaeger';

export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: 'CHILD_OF' | 'FOLLOWS_FROM'; traceID: string; spanID: string }[];
  startTime: number;
  duration: number;
  tags: { key: string; type: string; value: unknown }[];
  logs: { timestamp: number; fields: { key: string; value: unknown }[] }[];
  processID: string;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: { key: string; type: string; value: unknown }[] }>;
}

export interface Jaeger {
  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT (OTLP/HTTP; exporters add /v1/traces). */
  otlpEndpoint: string;
  /** The query service: UI and HTTP API. */
  queryUrl: string;
  /** Where a person opens a trace. */
  traceUrl(traceId: string): string;
  /** A trace from the query API, or undefined while Jaeger has none with that id. */
  getTrace(traceId: string): Promise<JaegerTrace | undefined>;
  /** Polls until the trace has at least `minSpans` spans (export is batched and asynchronous). */
  waitForTrace(traceId: string, options?: { minSpans?: number; timeoutMs?: number }): Promise<JaegerTrace>;
  stop(): Promise<void>;
}

export function jaegerVersion(): string {
  const env = readFileSync(new URL('../tools.env', import.meta.url), 'utf8');
  const version = /^JAEGER_VERSION=(\S+)/m.exec(env)?.[1];
  if (!version) throw new Error('scripts/tools.env has no JAEGER_VERSION');
  return version;
}

/**
 * The pinned jaeger binary, built when missing. `go install module@version` refuses Jaeger's
 * module (its go.mod has replace directives), so the module is fetched through the Go module
 * proxy and built from a copy of it.
 */
export async function ensureJaeger(log: (line: string) => void = () => {}): Promise<string> {
  const binary = join(TOOL_DIR, 'jaeger');
  const stamp = join(TOOL_DIR, '.jaeger.version');
  const version = jaegerVersion();
  if (existsSync(binary) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === version)
    return binary;
  log(`building jaeger ${version} with go (a few minutes, once)`);
  const { stdout } = await exec('go', ['mod', 'download', '-json', `${MODULE}@${version}`], {
    maxBuffer: 16 * 1024 * 1024,
  });
  const source = (JSON.parse(stdout) as { Dir?: string }).Dir;
  if (!source) throw new Error(`go mod download gave no directory for ${MODULE}@${version}`);
  const work = await mkdtemp(join(tmpdir(), 'ffleet-jaeger-src-'));
  try {
    await cp(source, work, { recursive: true });
    await exec('chmod', ['-R', 'u+w', work]);
    await mkdir(TOOL_DIR, { recursive: true });
    await exec('go', ['build', '-trimpath', '-o', binary, './cmd/jaeger'], {
      cwd: work,
      env: { ...process.env, GOFLAGS: '-mod=mod' },
      maxBuffer: 64 * 1024 * 1024,
    });
    await writeFile(stamp, `${version}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return binary;
}

/** Jaeger's own collector-style config: only what ffleet uses, every listener on 127.0.0.1. */
export function jaegerConfig(ports: {
  otlpHttp: number;
  queryHttp: number;
  queryGrpc: number;
  health: number;
}): string {
  return `service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    logs:
      level: warn
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:${ports.health}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
  jaeger_query:
    storage:
      traces: memstore
    enable_tracing: false
    http:
      endpoint: 127.0.0.1:${ports.queryHttp}
    grpc:
      endpoint: 127.0.0.1:${ports.queryGrpc}
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${ports.otlpHttp}
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

export async function startJaeger(options: { log?: (line: string) => void } = {}): Promise<Jaeger> {
  const binary = await ensureJaeger(options.log);
  const dir = await mkdtemp(join(tmpdir(), 'ffleet-jaeger-'));
  const ports = {
    otlpHttp: await freePort(),
    queryHttp: await freePort(),
    queryGrpc: await freePort(),
    health: await freePort(),
  };
  const configFile = join(dir, 'config.yaml');
  await writeFile(configFile, jaegerConfig(ports));
  const child: ChildProcess = spawn(binary, ['--config', configFile], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-8000);
  });
  const queryUrl = `http://127.0.0.1:${ports.queryHttp}`;
  const stop = async () => {
    await stopChild(child);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`jaeger exited: ${stderr}`);
      const [health, query] = await Promise.all([
        fetch(`http://127.0.0.1:${ports.health}/status`),
        fetch(`${queryUrl}/api/services`),
      ]);
      return health.ok && query.ok;
    }, 'jaeger');
  } catch (error) {
    await stop();
    throw error;
  }

  const getTrace = async (traceId: string): Promise<JaegerTrace | undefined> => {
    const response = await fetch(`${queryUrl}/api/traces/${encodeURIComponent(traceId)}`);
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`jaeger query: HTTP ${response.status} ${await response.text()}`);
    return ((await response.json()) as { data?: JaegerTrace[] }).data?.[0];
  };
  return {
    otlpEndpoint: `http://127.0.0.1:${ports.otlpHttp}`,
    queryUrl,
    traceUrl: (traceId) => `${queryUrl}/trace/${traceId}`,
    getTrace,
    async waitForTrace(traceId, waitOptions = {}) {
      let found: JaegerTrace | undefined;
      await waitFor(
        async () => {
          found = await getTrace(traceId);
          return (found?.spans.length ?? 0) >= (waitOptions.minSpans ?? 1);
        },
        `trace ${traceId} in jaeger`,
        waitOptions.timeoutMs ?? 15_000,
      );
      return found!;
    },
    stop,
  };
}
