import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { signWebhook } from '@ffleet/core';
import type { JobView } from '@ffleet/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type TestFleet } from '../support/fleet.ts';
import { makeSampleClip } from '../support/media.ts';

interface Received {
  event: string;
  signature: string | undefined;
  timestamp: string;
  raw: string;
  body: {
    event: string;
    job: {
      id: string;
      state: string;
      outputs: { url: string; bytes: number }[] | null;
      error: { code: string } | null;
    };
  };
}

const SECRET = 'webhook-secret-for-tests';
let fleet: TestFleet;
let receiver: Server;
let hookUrl: string;
const received: Received[] = [];

beforeAll(async () => {
  receiver = createServer((request, response) => {
    let raw = '';
    request.on('data', (d) => {
      raw += d;
    });
    request.on('end', () => {
      received.push({
        event: request.headers['x-ffleet-event'] as string,
        signature: request.headers['x-ffleet-signature'] as string | undefined,
        timestamp: request.headers['x-ffleet-timestamp'] as string,
        raw,
        body: JSON.parse(raw),
      });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/ffleet`;
  // A local fleet may call back to loopback over http; a production one only to public https.
  fleet = await startFleet({
    env: {
      FFLEET_WEBHOOK_ALLOW_HTTP: 'true',
      FFLEET_WEBHOOK_ALLOW_PRIVATE: 'true',
      // Short waits between tries: 0.5, 1, 2, 4 s…
      FFLEET_WEBHOOK_BACKOFF_MS: '500',
    },
  });
  const clip = join(fleet.dir, 'sample.mp4');
  await makeSampleClip(clip, { seconds: 2, size: '320x240' });
  await fleet.put('inputs/sample.mp4', clip);
});

afterAll(async () => {
  await fleet?.stop();
  receiver?.close();
});

async function eventFor(id: string, timeoutMs = 30_000): Promise<Received> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const hit = received.find((r) => r.body.job.id === id);
    if (hit) return hit;
    await sleep(50);
  }
  throw new Error(`no webhook for ${id}`);
}

function job(name: string, input: string) {
  return {
    name,
    compute: 'intel',
    inputs: [{ url: `s3://${fleet.bucket}/inputs/${input}` }],
    outputs: [{ url: `s3://${fleet.bucket}/out/${name}.mp4`, options: '-c copy' }],
    webhook: { url: hookUrl, secret: SECRET },
  };
}

describe('webhooks', () => {
  it('a finished job POSTs job.succeeded, signed, with its outputs; the secret is never shown back', async () => {
    const worker = await fleet.startWorker('intel');
    const { body } = await fleet.api<{ id: string }>('POST', '/v1/jobs', job('hooked', 'sample.mp4'));
    const hit = await eventFor(body.id);
    expect(hit.event).toBe('job.succeeded');
    expect(hit.signature).toBe(signWebhook(SECRET, hit.timestamp, hit.raw));
    expect(hit.body.job.state).toBe('succeeded');
    expect(hit.body.job.outputs![0]!.url).toBe(`s3://${fleet.bucket}/out/hooked.mp4`);
    expect(hit.body.job.outputs![0]!.bytes).toBeGreaterThan(0);
    const view = await fleet.api<{ spec: { webhook: { url: string; secret: string } } }>(
      'GET',
      `/v1/jobs/${body.id}`,
    );
    expect(view.body.spec.webhook).toEqual({ url: hookUrl, secret: '[redacted]' });
    expect(JSON.stringify(view.body)).not.toContain(SECRET);

    const failed = await fleet.api<{ id: string }>('POST', '/v1/jobs', {
      ...job('hooked-missing', 'nope.mp4'),
      attempts: 3,
    });
    const miss = await eventFor(failed.body.id);
    expect(miss.event).toBe('job.failed');
    expect(miss.body.job.error!.code).toBe('input_missing');
    // One event per job, not one per attempt.
    await sleep(500);
    expect(received.filter((r) => r.body.job.id === failed.body.id)).toHaveLength(1);
    worker.child.kill('SIGKILL');
    await worker.exited;
  });

  it('cancelling a queued job POSTs job.cancelled (queued by the gateway, sent by a worker)', async () => {
    const { body } = await fleet.api<{ id: string }>('POST', '/v1/jobs', {
      ...job('hooked-cancel', 'sample.mp4'),
      compute: 'amd',
    });
    expect((await fleet.api('DELETE', `/v1/jobs/${body.id}`)).status).toBe(202);
    // No worker runs: the delivery waits in its queue, then any pool's worker sends it.
    await sleep(1000);
    expect(received.filter((r) => r.body.job.id === body.id)).toEqual([]);
    const sender = await fleet.startWorker('intel');
    const hit = await eventFor(body.id);
    expect(hit.event).toBe('job.cancelled');
    expect(hit.body.job.state).toBe('cancelled');
    sender.child.kill('SIGKILL');
    await sender.exited;
  });

  it('a receiver down for 3 attempts and a worker SIGKILLed between them: delivered exactly once, signed; then sent again on request', async () => {
    const requests: { delivery: string; signature: string; timestamp: string; raw: string; ok: boolean }[] =
      [];
    const flaky = createServer((request, response) => {
      let raw = '';
      request.on('data', (d) => {
        raw += d;
      });
      request.on('end', () => {
        const ok = requests.length >= 3;
        requests.push({
          delivery: request.headers['x-ffleet-delivery'] as string,
          signature: request.headers['x-ffleet-signature'] as string,
          timestamp: request.headers['x-ffleet-timestamp'] as string,
          raw,
          ok,
        });
        // Down for the first three: the connection drops without an answer.
        if (ok) response.writeHead(204).end();
        else request.socket.destroy();
      });
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    const flakyUrl = `http://127.0.0.1:${(flaky.address() as { port: number }).port}/flaky`;
    const waitRequests = async (n: number) => {
      const deadline = Date.now() + 60_000;
      while (requests.length < n) {
        if (Date.now() > deadline) throw new Error(`${requests.length} webhook requests, expected ${n}`);
        await sleep(20);
      }
    };
    try {
      const first = await fleet.startWorker('intel');
      const { body } = await fleet.api<{ id: string }>('POST', '/v1/jobs', {
        ...job('hooked-flaky', 'sample.mp4'),
        webhook: { url: flakyUrl, secret: SECRET },
      });
      await waitRequests(2);
      first.child.kill('SIGKILL');
      await first.exited;
      const away = await fleet.api<JobView>('GET', `/v1/jobs/${body.id}`);
      expect(away.body.state).toBe('succeeded');
      expect(away.body.webhookDeliveries).toHaveLength(1);
      expect(away.body.webhookDeliveries![0]).toMatchObject({
        id: `${body.id}-job.succeeded`,
        event: 'job.succeeded',
        state: 'pending',
        deliveredAt: null,
      });
      expect(away.body.webhookDeliveries![0]!.lastError).toBeTruthy();

      // The delivery waited in Redis for a worker; the new one sends it when it is due.
      const second = await fleet.startWorker('intel');
      await waitRequests(4);
      await sleep(3000);
      expect(requests).toHaveLength(4);
      expect(requests.filter((r) => r.ok)).toHaveLength(1);
      const delivered = requests[3]!;
      expect(new Set(requests.map((r) => r.delivery))).toEqual(new Set([`${body.id}-job.succeeded`]));
      expect(delivered.signature).toBe(signWebhook(SECRET, delivered.timestamp, delivered.raw));
      expect(JSON.parse(delivered.raw)).toMatchObject({
        event: 'job.succeeded',
        job: { id: body.id, state: 'succeeded' },
      });
      const view = (await fleet.api<JobView>('GET', `/v1/jobs/${body.id}`)).body;
      const [delivery] = view.webhookDeliveries!;
      expect(delivery).toMatchObject({
        state: 'delivered',
        lastStatus: 204,
        lastError: null,
        nextTryAt: null,
      });
      expect(delivery!.attempts.made).toBeGreaterThanOrEqual(3);
      expect(delivery!.attempts.max).toBe(10);
      expect(Date.parse(delivery!.deliveredAt!)).toBeGreaterThan(Date.parse(view.finishedAt!));

      // Sent again on request: a new delivery with its own id, the same event, signed afresh.
      const again = await fleet.api<{ id: string; state: string }>(
        'POST',
        `/v1/jobs/${body.id}/webhook/redeliver`,
      );
      expect(again.status).toBe(202);
      expect(again.body).toMatchObject({ id: `${body.id}-job.succeeded-r1`, state: 'pending' });
      await waitRequests(5);
      const resent = requests[4]!;
      expect(resent.delivery).toBe(`${body.id}-job.succeeded-r1`);
      expect(resent.signature).toBe(signWebhook(SECRET, resent.timestamp, resent.raw));
      expect(JSON.parse(resent.raw)).toMatchObject({ event: 'job.succeeded', job: { id: body.id } });
      await sleep(500);
      const both = (await fleet.api<JobView>('GET', `/v1/jobs/${body.id}`)).body.webhookDeliveries!;
      expect(both.map((d) => [d.id, d.state])).toEqual([
        [`${body.id}-job.succeeded`, 'delivered'],
        [`${body.id}-job.succeeded-r1`, 'delivered'],
      ]);
      second.child.kill('SIGKILL');
      await second.exited;
    } finally {
      flaky.close();
    }
  });

  it('redelivery: 404 for an unknown job, 409 for a job without a webhook or not finished', async () => {
    const unknown = await fleet.api<{ error: string }>(
      'POST',
      '/v1/jobs/00000000-0000-4000-8000-000000000000/webhook/redeliver',
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('not_found');
    const plain = await fleet.api<{ id: string }>('POST', '/v1/jobs', {
      ...job('unhooked', 'sample.mp4'),
      compute: 'amd',
      webhook: undefined,
    });
    const noHook = await fleet.api<{ error: string }>('POST', `/v1/jobs/${plain.body.id}/webhook/redeliver`);
    expect(noHook.status).toBe(409);
    expect(noHook.body.error).toBe('no_webhook');
    const queued = await fleet.api<{ id: string }>('POST', '/v1/jobs', {
      ...job('hooked-queued', 'sample.mp4'),
      compute: 'amd',
    });
    const early = await fleet.api<{ error: string }>('POST', `/v1/jobs/${queued.body.id}/webhook/redeliver`);
    expect(early.status).toBe(409);
    expect(early.body.error).toBe('conflict');
    for (const id of [plain.body.id, queued.body.id]) await fleet.api('DELETE', `/v1/jobs/${id}`);
  });

  it('refuses bad webhooks before queueing (URL rules that hold on every fleet)', async () => {
    const withCredentials = await fleet.api<{ error: string; message: string }>('POST', '/v1/jobs', {
      ...job('hooked-bad', 'sample.mp4'),
      webhook: { url: 'https://user:password@hooks.example.com/x' },
    });
    expect(withCredentials.status).toBe(400);
    expect(withCredentials.body.message).toMatch(/credentials/);
    const ftp = await fleet.api<{ error: string; message: string }>('POST', '/v1/jobs', {
      ...job('hooked-bad', 'sample.mp4'),
      webhook: { url: 'ftp://hooks.example.com/x' },
    });
    expect(ftp.status).toBe(400);
    expect(ftp.body.error).toBe('unsafe_job');
    const shortSecret = await fleet.api<{ error: string }>('POST', '/v1/jobs', {
      ...job('hooked-bad', 'sample.mp4'),
      webhook: { url: hookUrl, secret: 'short' },
    });
    expect(shortSecret.status).toBe(400);
    expect(shortSecret.body.error).toBe('invalid_job');
  });
});
