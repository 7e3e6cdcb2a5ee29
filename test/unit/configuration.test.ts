/**
 * Settings are read once at start from one schema per process; a bad value stops the process
 * with a message naming the variable and the form it expects, and the docs table is the
 * schemas' own.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadCliConfig } from '@ffleet/cli';
import { ConfigError, loadFleetConfig, readSettings, settings, text } from '@ffleet/core';
import { GatewaySettings, loadGatewayConfig } from '@ffleet/gateway';
import { defaultThreads, loadWorkerConfig } from '@ffleet/worker';
import { describe, expect, it } from 'vitest';
import { CONFIGURATION_PAGE, withTable } from '../../scripts/config-docs.ts';

const exec = promisify(execFile);
const ROOT = new URL('../..', import.meta.url).pathname;

/** The problems a load reports, or [] when it succeeds. */
function problemsOf(load: () => unknown): string[] {
  try {
    load();
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

/** Starts a process's entry point with `env` and returns how it ended. */
async function start(main: string, env: Record<string, string>, args: string[] = []) {
  try {
    await exec(process.execPath, [join(ROOT, main), ...args], {
      env: { PATH: process.env.PATH!, ...env },
      timeout: 20_000,
    });
    return { code: 0, stderr: '' };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

describe('settings', () => {
  it('applies defaults and reads numbers, flags and lists', () => {
    const config = loadGatewayConfig({
      PORT: '9000',
      FFLEET_WEBHOOK_ALLOW_HTTP: 'yes',
      FFLEET_ALLOWED_BUCKETS: ' media , ,out ',
      FFLEET_API_TOKENS: 'a-token,another',
    });
    expect(config.port).toBe(9000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.fleet.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.fleet.urlPolicy.webhooks).toEqual({ allowHttp: true, allowPrivate: false });
    expect(config.fleet.urlPolicy.allowedBuckets).toEqual(['media', 'out']);
    expect(config.apiTokens.map((t) => t.token)).toEqual(['a-token', 'another']);
    // A plain token is unscoped and named by a hash of itself, never by the token.
    expect(config.apiTokens[0]).toEqual({
      name: expect.stringMatching(/^token-[0-9a-f]{12}$/),
      token: 'a-token',
    });
    expect(config.rateLimit).toEqual({ max: 0, windowSeconds: 60 });
    expect(config.fleet.s3.partSize).toBe(8 * 1024 * 1024);
  });

  it('names every bad variable with the form it expects', () => {
    expect(
      problemsOf(() =>
        loadGatewayConfig({
          PORT: '80a',
          FFLEET_WEBHOOK_ALLOW_HTTP: 'maybe',
          REDIS_URL: 'http://redis:6379',
          LOG_LEVEL: 'loud',
          S3_PART_SIZE_MB: '2',
        }),
      ),
    ).toEqual([
      'REDIS_URL must be a redis:// or rediss:// URL, got "http://redis:6379"',
      'S3_PART_SIZE_MB must be a whole number from 5 to 5120, got "2"',
      'FFLEET_WEBHOOK_ALLOW_HTTP must be true or false, got "maybe"',
      'LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, got "loud"',
      'PORT must be a whole number from 0 to 65535, got "80a"',
    ]);
    expect(problemsOf(() => loadGatewayConfig({ PORT: '70000' }))).toEqual([
      'PORT must be a whole number from 0 to 65535, got "70000"',
    ]);
  });

  it('refuses a missing required setting and a pool the registry does not list', () => {
    expect(problemsOf(() => loadWorkerConfig({}))).toEqual([
      'POOL is required: the pool this worker serves (a name in the pool registry)',
    ]);
    expect(problemsOf(() => loadWorkerConfig({ POOL: 'gpu' }))[0]).toMatch(
      /^POOL must be one of .*intel.* \(the pool registry\), got "gpu"$/,
    );
    expect(problemsOf(() => loadWorkerConfig({ POOL: 'intel', FFLEET_CONCURRENCY: '0' }))).toEqual([
      'FFLEET_CONCURRENCY must be a whole number from 1 to 64, got "0"',
    ]);
    expect(
      problemsOf(() => loadWorkerConfig({ POOL: 'intel', FFLEET_FFMPEG_ENV: 'XILINX_XRT,bad name' })),
    ).toEqual(['FFLEET_FFMPEG_ENV must be a comma-separated list, got "XILINX_XRT,bad name"']);
    const worker = loadWorkerConfig({ POOL: 'intel', FFLEET_SHUTDOWN_GRACE_SECONDS: '0' });
    expect(worker.concurrency).toBe(worker.pool.concurrency);
    expect(worker.shutdownGraceMs).toBe(0);
  });

  it("reads a pool's ffmpeg limits and names a bad one", () => {
    const limited = loadWorkerConfig({
      POOL: 'intel',
      FFLEET_FFMPEG_THREADS: '3',
      FFLEET_MAX_OUTPUT_PIXELS: '8294400',
      FFLEET_MAX_INPUT_SECONDS: '600',
    });
    expect(limited.ffmpegLimits).toMatchObject({ threads: 3, maxOutputPixels: 8_294_400 });
    expect(limited.maxInputSeconds).toBe(600);
    // Unset: the CPUs shared by the jobs at once; 8K frames; no duration limit.
    const defaults = loadWorkerConfig({ POOL: 'intel', FFLEET_CONCURRENCY: '2' });
    expect(defaults.ffmpegLimits.threads).toBe(defaultThreads(2));
    expect(defaults.ffmpegLimits.maxOutputPixels).toBe(7680 * 4320);
    expect(defaults.maxInputSeconds).toBe(0);
    expect(defaultThreads(4, 16)).toBe(4);
    expect(defaultThreads(4, 2)).toBe(1);
    expect(loadWorkerConfig({ POOL: 'intel', FFLEET_FFMPEG_THREADS: '0' }).ffmpegLimits.threads).toBe(0);
    expect(
      problemsOf(() =>
        loadWorkerConfig({ POOL: 'intel', FFLEET_FFMPEG_THREADS: '1000', FFLEET_MAX_INPUT_SECONDS: '1h' }),
      ),
    ).toEqual([
      'FFLEET_FFMPEG_THREADS must be a whole number from 0 to 256, got "1000"',
      'FFLEET_MAX_INPUT_SECONDS must be a whole number (0 or more), got "1h"',
    ]);
  });

  it('treats an empty value as unset', () => {
    expect(loadFleetConfig({ REDIS_URL: '', FFLEET_QUEUE_PREFIX: ' ' }).queuePrefix).toBe('ffleet');
    const schema = settings({ NAME: text({ description: 'a name', pattern: '^[a-z]+$' }) });
    expect(() => readSettings(schema, { NAME: '' })).toThrow('NAME is required');
    expect(() => readSettings(schema, { NAME: 'A1' })).toThrow(
      'NAME must be text matching ^[a-z]+$, got "A1"',
    );
  });

  it("the CLI takes the environment first and a local fleet's .ffleet/dev.env for what it leaves out", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ffleet-cli-config-'));
    try {
      expect(loadCliConfig({}, dir).gateway).toBe('http://127.0.0.1:8080');
      await mkdir(join(dir, '.ffleet'));
      await writeFile(
        join(dir, '.ffleet', 'dev.env'),
        'FFLEET_GATEWAY=http://127.0.0.1:4242/\nFFLEET_BUCKET=local-bucket\nS3_ENDPOINT=http://127.0.0.1:7070\nAWS_ACCESS_KEY_ID=local\nAWS_SECRET_ACCESS_KEY=localsecret\n',
      );
      const local = loadCliConfig({}, dir);
      expect(local.gateway).toBe('http://127.0.0.1:4242');
      expect(local.records.bucket).toBe('local-bucket');
      expect(local.uploadTo).toBe('s3://local-bucket/uploads/');
      expect(local.records.s3).toMatchObject({ endpoint: 'http://127.0.0.1:7070', accessKeyId: 'local' });
      const configured = loadCliConfig(
        { FFLEET_GATEWAY: 'https://ffleet.example.com', FFLEET_METRICS_BUCKET: 'metrics' },
        dir,
      );
      expect(configured.gateway).toBe('https://ffleet.example.com');
      expect(configured.records).toMatchObject({ bucket: 'metrics', s3: { endpoint: undefined } });
      // Local files are inputs: they go to the fleet's bucket, not to the records' bucket.
      expect(configured.uploadTo).toBe('s3://local-bucket/uploads/');
      expect(loadCliConfig({ FFLEET_METRICS_BUCKET: 'metrics', FFLEET_BUCKET: 'media' }, dir).uploadTo).toBe(
        's3://media/uploads/',
      );
      expect(problemsOf(() => loadCliConfig({ FFLEET_GATEWAY: 'ftp://x' }, dir))).toEqual([
        'FFLEET_GATEWAY must be an http:// or https:// URL, got "ftp://x"',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a process with a bad setting', () => {
  it('the gateway exits with code 2 naming the variable and the expected form', async () => {
    const run = await start('services/gateway/src/main.ts', { PORT: '80a', OTEL_SDK_DISABLED: 'sometimes' });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'ffleet-gateway: invalid configuration:\n  OTEL_SDK_DISABLED must be true or false, got "sometimes"\n  PORT must be a whole number from 0 to 65535, got "80a"\n',
    );
  });

  it('the worker exits with code 2 when POOL is missing', async () => {
    const run = await start('services/worker/src/main.ts', {});
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'ffleet-worker: invalid configuration:\n  POOL is required: the pool this worker serves (a name in the pool registry)\n',
    );
  });

  it('the CLI exits with code 2 on a malformed gateway URL', async () => {
    const run = await start('services/cli/src/main.ts', { FFLEET_GATEWAY: 'localhost:8080' }, ['pools']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('FFLEET_GATEWAY must be an http:// or https:// URL, got "localhost:8080"');
  });
});

describe('docs/configuration.md', () => {
  it('holds the table generated from the settings schemas (node scripts/config-docs.ts --write)', () => {
    const page = readFileSync(CONFIGURATION_PAGE, 'utf8');
    expect(page).toBe(withTable(page));
  });

  it('lists every gateway variable', () => {
    const page = readFileSync(CONFIGURATION_PAGE, 'utf8');
    for (const name of Object.keys(GatewaySettings.properties)) expect(page).toContain(`| \`${name}\` |`);
  });
});
