import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { signWebhook } from '@ffleet/core';
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
    env: { FFLEET_WEBHOOK_ALLOW_HTTP: 'true', FFLEET_WEBHOOK_ALLOW_PRIVATE: 'true' },
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

  it('cancelling a queued job POSTs job.cancelled', async () => {
    const { body } = await fleet.api<{ id: string }>('POST', '/v1/jobs', {
      ...job('hooked-cancel', 'sample.mp4'),
      compute: 'amd',
    });
    expect((await fleet.api('DELETE', `/v1/jobs/${body.id}`)).status).toBe(202);
    const hit = await eventFor(body.id);
    expect(hit.event).toBe('job.cancelled');
    expect(hit.body.job.state).toBe('cancelled');
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
