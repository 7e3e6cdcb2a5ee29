/**
 * Backpressure and fairness on a real gateway and Redis: a pool's queue takes at most its
 * `maxQueued` waiting jobs (then `429 queue_full` with Retry-After, a batch refused whole, and
 * room again once jobs leave), and each API token has a rate limit counted in Redis, so two
 * gateway replicas on the same Redis share it (`429 rate_limited` with Retry-After). Both show
 * in `GET /v1/pools` and `/metrics`; with Redis away the rate limit answers 503 in time.
 */
import { once } from 'node:events';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildGateway } from '@ffleet/gateway';
import type { FastifyInstance } from 'fastify';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type TestFleet } from '../support/fleet.ts';

const CAP = 3;
/** A cap far above what the tests queue. */
const BULK_CAP = 1000;
const TOKENS = {
  plain: 'plain-token-0123456789',
  small: 'small-token-0123456789',
  roomy: 'roomy-token-0123456789',
};
/** Requests without a valid token one address may send a minute. */
const AUTH_FAILURES = 4;
const RATE = { max: 5, windowSeconds: 60 };

let fleet: TestFleet;
/** Two more gateways on the fleet's Redis, with tokens and a rate limit: two replicas. */
let replicas: FastifyInstance[] = [];
let poolsFile: string;

beforeAll(async () => {
  poolsFile = join(tmpdir(), `ffleet-capped-pools-${process.pid}.yaml`);
  await writeFile(
    poolsFile,
    [
      'pools:',
      '  intel:',
      '    family: intel',
      '    queue: ffleet-intel',
      '    arch: amd64',
      '    accelerator: none',
      '    instanceTypes: [c6i.large]',
      '    concurrency: 1',
      '    encoders: [libx264]',
      '    hwaccels: []',
      `    maxQueued: ${CAP}`,
      '  amd:',
      '    family: amd',
      '    queue: ffleet-amd',
      '    arch: amd64',
      '    accelerator: none',
      '    instanceTypes: [m6a.large]',
      '    concurrency: 1',
      '    encoders: [libx264]',
      '    hwaccels: []',
      '  bulk:',
      '    family: bulk',
      '    queue: ffleet-bulk',
      '    arch: amd64',
      '    accelerator: none',
      '    instanceTypes: [m6a.xlarge]',
      '    concurrency: 1',
      '    encoders: [libx264]',
      '    hwaccels: []',
      `    maxQueued: ${BULK_CAP}`,
      '',
    ].join('\n'),
  );
  // No worker: every job submitted stays waiting in its pool's queue.
  fleet = await startFleet({ env: { FFLEET_POOLS_FILE: poolsFile } });
  for (let i = 0; i < 2; i++) {
    const app = await buildGateway({
      config: fleet.config(),
      apiTokens: [
        TOKENS.plain,
        { name: 'small', token: TOKENS.small, rateLimit: 2 },
        { name: 'roomy', token: TOKENS.roomy, rateLimit: 1000 },
      ],
      rateLimit: RATE,
      authFailuresPerMinute: AUTH_FAILURES,
      redisTimeoutMs: 1000,
    });
    replicas.push(app);
  }
}, 120_000);

afterAll(async () => {
  fleet?.stack.signalRedis('SIGCONT');
  await Promise.all(replicas.map((app) => app.close()));
  replicas = [];
  await fleet?.stop();
  await rm(poolsFile, { force: true });
});

function job(name: string) {
  return {
    name,
    compute: 'intel',
    inputs: [{ url: `s3://${fleet.bucket}/in/${name}.mp4` }],
    outputs: [{ url: `s3://${fleet.bucket}/out/${name}.mp4`, options: '-c:v libx264' }],
  };
}

async function intel() {
  const { body } = await fleet.api<{ pools: { name: string; queued: number; maxQueued: number | null }[] }>(
    'GET',
    '/v1/pools',
  );
  return {
    intel: body.pools.find((p) => p.name === 'intel')!,
    amd: body.pools.find((p) => p.name === 'amd')!,
  };
}

function metric(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(name));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe("a pool's queue cap", () => {
  it('takes jobs up to maxQueued, then answers 429 queue_full with Retry-After and queues nothing', async () => {
    const ids: string[] = [];
    for (let i = 0; i < CAP; i++) {
      const { status, body } = await fleet.api<{ id: string }>('POST', '/v1/jobs', job(`fill-${i}`));
      expect(status).toBe(202);
      ids.push(body.id);
    }
    const response = await fetch(`${fleet.baseUrl}/v1/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(job('one-too-many')),
    });
    expect(response.status).toBe(429);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const refused = (await response.json()) as { error: string; message: string; details: unknown };
    expect(refused.error).toBe('queue_full');
    expect(refused.message).toContain(`cap is ${CAP}`);
    expect(refused.details).toMatchObject({ pool: 'intel', queued: CAP, cap: CAP });

    // The same through the AWS-sample route, and for a batch of two: refused whole.
    const sample = await fleet.api<{ error: string }>('POST', '/batch/execute/intel', {
      name: 'sample',
      input_url: `s3://${fleet.bucket}/in/a.mp4`,
      output_url: `s3://${fleet.bucket}/out/a.mp4`,
      output_file_options: '-c:v libx264',
    });
    expect([sample.status, sample.body.error]).toEqual([429, 'queue_full']);

    const pools = await intel();
    expect(pools.intel).toMatchObject({ queued: CAP, maxQueued: CAP });
    expect(pools.amd).toMatchObject({ queued: 0, maxQueued: null });

    const metrics = await (await fetch(`${fleet.baseUrl}/metrics`)).text();
    expect(metric(metrics, 'ffleet_queue_cap{pool="intel"')).toBe(CAP);
    expect(metric(metrics, 'ffleet_queue_depth{pool="intel"')).toBe(CAP);
    expect(metric(metrics, 'ffleet_jobs_rejected_total{reason="queue_full"')).toBe(2);

    // A pool without a cap is not held back by another's.
    const other = await fleet.api('POST', '/v1/jobs', { ...job('amd-job'), compute: 'amd' });
    expect(other.status).toBe(202);

    // A job leaving the queue makes room for one, not for a batch of two.
    expect((await fleet.api('DELETE', `/v1/jobs/${ids[0]}`)).status).toBe(202);
    const batch = await fleet.api<{ error: string; details: unknown }>('POST', '/v1/batches', {
      name: 'two',
      compute: 'intel',
      items: [`s3://${fleet.bucket}/in/x.mp4`, `s3://${fleet.bucket}/in/y.mp4`],
      outputs: [{ url: `s3://${fleet.bucket}/out/{stem}.mp4`, options: '-c:v libx264' }],
    });
    expect(batch.status).toBe(429);
    expect(batch.body.details).toMatchObject({ adding: 2, queued: CAP - 1 });
    expect((await intel()).intel.queued).toBe(CAP - 1);
    expect((await fleet.api('POST', '/v1/jobs', job('after-room'))).status).toBe(202);
  });
});

describe('a cap far away', () => {
  /** Scripts Redis has run so far: each submission adds a job with one, and a depth reading is another. */
  async function scriptCalls(): Promise<number> {
    // On a Redis Cluster each node counts its own: INFO asks one node, so every master is asked.
    const redis = fleet.redis();
    if (redis.status !== 'ready') await once(redis, 'ready');
    const nodes = redis instanceof Cluster ? redis.nodes('master') : [redis];
    let calls = 0;
    for (const node of nodes) {
      const stats = await node.info('commandstats');
      calls += Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats)?.[1] ?? 0);
    }
    return calls;
  }

  it("is not read from Redis on every submission, and the depth shown stays the queue's own", async () => {
    const before = await scriptCalls();
    for (let i = 0; i < 20; i++) {
      const { status } = await fleet.api('POST', '/v1/jobs', { ...job(`bulk-${i}`), compute: 'bulk' });
      expect(status).toBe(202);
    }
    const scripts = (await scriptCalls()) - before;
    // 20 adds, and a reading about once a second rather than 20 of them.
    expect(scripts).toBeGreaterThanOrEqual(20);
    expect(scripts).toBeLessThan(30);
    const { body } = await fleet.api<{ pools: { name: string; queued: number }[] }>('GET', '/v1/pools');
    expect(body.pools.find((p) => p.name === 'bulk')?.queued).toBe(20);
  });
});

describe('per-token rate limits', () => {
  async function call(app: FastifyInstance, token: string) {
    const response = await app.inject({
      method: 'GET',
      url: '/v1/pools',
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: response.statusCode, headers: response.headers, body: response.json() };
  }

  it('are shared by two gateway replicas on the same Redis: 429 rate_limited with Retry-After', async () => {
    const [one, two] = replicas as [FastifyInstance, FastifyInstance];
    const statuses: number[] = [];
    for (let i = 0; i < RATE.max; i++)
      statuses.push((await call(i % 2 === 0 ? one : two, TOKENS.plain)).status);
    expect(statuses).toEqual(Array(RATE.max).fill(200));
    // The sixth request, on either replica, is over the limit the two counted together.
    for (const app of [one, two]) {
      const over = await call(app, TOKENS.plain);
      expect(over.status).toBe(429);
      expect(over.body).toMatchObject({ error: 'rate_limited' });
      const retryAfter = Number(over.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(RATE.windowSeconds);
    }
    // Another token has its own count, and its own limit from the tokens file.
    const small = [
      await call(two, TOKENS.small),
      await call(one, TOKENS.small),
      await call(two, TOKENS.small),
    ];
    expect(small.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(small[0]!.body.rateLimit).toEqual({ max: 2, windowSeconds: RATE.windowSeconds });

    // Probes and metrics are never limited; each replica counts the refusals it answered, per token.
    expect((await one.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const [first, second] = await Promise.all(
      [one, two].map(async (app) => (await app.inject({ method: 'GET', url: '/metrics' })).body),
    );
    expect(metric(second!, 'ffleet_requests_rate_limited_total{token="small"')).toBe(1);
    expect(metric(first!, 'ffleet_requests_rate_limited_total{token="small"')).toBeUndefined();
    const plainName = first!.match(/ffleet_requests_rate_limited_total\{token="(token-[0-9a-f]{12})"/)?.[1];
    expect(plainName).toBeDefined();
    for (const text of [first!, second!])
      expect(metric(text, `ffleet_requests_rate_limited_total{token="${plainName}"`)).toBe(1);
  });

  it('also count requests without a valid token, per address across replicas: 401, then 429', async () => {
    const [one, two] = replicas as [FastifyInstance, FastifyInstance];
    const wrong = (app: FastifyInstance, i: number) => call(app, `wrong-token-${i}-0123456789`);
    const statuses: number[] = [];
    for (let i = 0; i < AUTH_FAILURES; i++) statuses.push((await wrong(i % 2 === 0 ? one : two, i)).status);
    expect(statuses).toEqual(Array(AUTH_FAILURES).fill(401));
    for (const app of [one, two]) {
      const over = await wrong(app, 99);
      expect(over.status).toBe(429);
      expect(over.body).toMatchObject({ error: 'rate_limited', details: { max: AUTH_FAILURES } });
      expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    // No token at all counts too; a valid token from the same address still gets in.
    const none = await one.inject({ method: 'GET', url: '/v1/pools' });
    expect(none.statusCode).toBe(429);
    expect((await call(two, TOKENS.roomy)).status).toBe(200);
  });

  it('answer 503 unavailable with Retry-After in time when Redis does not answer', async () => {
    const [one] = replicas as [FastifyInstance];
    fleet.stack.signalRedis('SIGSTOP');
    try {
      const started = Date.now();
      const answer = await one.inject({
        method: 'POST',
        url: '/v1/uploads',
        headers: { authorization: `Bearer ${TOKENS.small}`, 'content-type': 'application/json' },
        payload: { url: `s3://${fleet.bucket}/in/new.mp4` },
      });
      const ms = Date.now() - started;
      expect(answer.statusCode).toBe(503);
      expect(answer.json()).toMatchObject({ error: 'unavailable' });
      expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // The bound is 1 s; the slack is for a busy machine, far below a request that hangs.
      expect(ms).toBeLessThan(4000);
    } finally {
      fleet.stack.signalRedis('SIGCONT');
    }
  });

  it("count a token's own limit on a gateway without one, and nothing where no limit is set", async () => {
    const app = await buildGateway({
      config: fleet.config(),
      apiTokens: [
        { name: 'limited', token: 'limited-token-0123456789', rateLimit: 1 },
        { name: 'free', token: 'free-token-0123456789' },
      ],
      redisTimeoutMs: 1000,
    });
    try {
      expect([
        (await call(app, 'limited-token-0123456789')).status,
        (await call(app, 'limited-token-0123456789')).status,
      ]).toEqual([200, 429]);
      for (let i = 0; i < 3; i++) expect((await call(app, 'free-token-0123456789')).status).toBe(200);
    } finally {
      await app.close();
    }
    // No limit anywhere: requests are not counted, so uploads, which need only S3, go on while
    // Redis does not answer.
    const unlimited = await buildGateway({
      config: fleet.config(),
      apiTokens: ['unlimited-token-0123456789'],
      redisTimeoutMs: 1000,
    });
    fleet.stack.signalRedis('SIGSTOP');
    try {
      const answer = await unlimited.inject({
        method: 'POST',
        url: '/v1/uploads',
        headers: { authorization: 'Bearer unlimited-token-0123456789', 'content-type': 'application/json' },
        payload: { url: `s3://${fleet.bucket}/in/unlimited.mp4` },
      });
      expect(answer.statusCode, answer.body).toBe(200);
    } finally {
      fleet.stack.signalRedis('SIGCONT');
      await unlimited.close();
    }
  });
});
