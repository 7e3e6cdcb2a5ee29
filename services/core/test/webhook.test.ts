import { createHmac } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { compileCheck } from '../src/schemas/check.ts';
import { WebhookBodySchema, webhookPayload } from '../src/webhooks/payload.ts';
import { checkWebhookUrl, deliverWebhook, isPrivateAddress, signWebhook } from '../src/webhooks/webhook.ts';

/** A failed job's payload, as a worker sends it. */
const payload = webhookPayload(
  'j1',
  {
    spec: {
      name: 'clip',
      compute: 'intel',
      inputs: [{ url: 's3://in/a.mp4' }],
      outputs: [{ url: 's3://out/b.mp4' }],
    },
    pool: 'intel',
    submittedAt: 0,
  },
  'failed',
  3,
  null,
  { code: 'input_missing', message: 'no such object' },
);

describe('webhook URLs', () => {
  it('need https, unless a local fleet allows http', () => {
    expect(() => checkWebhookUrl('http://hooks.example.com/x')).toThrow(/must use https/);
    expect(checkWebhookUrl('http://hooks.example.com/x', { allowHttp: true }).hostname).toBe(
      'hooks.example.com',
    );
    expect(() => checkWebhookUrl('ftp://hooks.example.com/x', { allowHttp: true })).toThrow(/must use https/);
    expect(() => checkWebhookUrl('not a url')).toThrow(/not a URL/);
  });

  it('may not carry credentials', () => {
    expect(() => checkWebhookUrl('https://user:pw@hooks.example.com/x')).toThrow(/credentials/);
  });

  it('may not point inside the network, by address or well-known name', () => {
    for (const url of [
      'https://127.0.0.1/x',
      'https://10.1.2.3/x',
      'https://169.254.169.254/latest/meta-data/',
      'https://[::1]/x',
      'https://[fd00:ec2::254]/x',
      'https://localhost/x',
      'https://redis.ffleet.svc.cluster.local/x',
      'https://metadata.google.internal/x',
    ]) {
      expect(() => checkWebhookUrl(url), url).toThrow(/inside the network/);
    }
    expect(checkWebhookUrl('https://127.0.0.1/x', { allowPrivate: true }).hostname).toBe('127.0.0.1');
  });

  it('classifies addresses', () => {
    expect(isPrivateAddress('169.254.169.254')).toBe(true);
    expect(isPrivateAddress('::ffff:10.0.0.1')).toBe(true);
    expect(isPrivateAddress('100.64.0.1')).toBe(true);
    expect(isPrivateAddress('8.8.8.8')).toBe(false);
    expect(isPrivateAddress('2606:4700::1111')).toBe(false);
  });
});

describe('webhook signatures', () => {
  it('are HMAC-SHA256 of "<timestamp>.<body>" with the job secret', () => {
    const expected = createHmac('sha256', 'a-long-enough-secret').update('1700000000.{"a":1}').digest('hex');
    expect(signWebhook('a-long-enough-secret', '1700000000', '{"a":1}')).toBe(`sha256=${expected}`);
  });
});

describe('webhook delivery', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  async function receiver(handler: (request: IncomingMessage, body: string) => number) {
    const received: { headers: IncomingMessage['headers']; body: string; url: string }[] = [];
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (d) => {
        body += d;
      });
      request.on('end', () => {
        received.push({ headers: request.headers, body, url: request.url ?? '' });
        const status = handler(request, body);
        response.writeHead(status, status === 302 ? { location: '/elsewhere' } : {}).end();
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    return { received, url: `http://127.0.0.1:${port}/hook` };
  }
  const local = { allowHttp: true, allowPrivate: true };

  it('POSTs the signed event', async () => {
    const hook = await receiver(() => 204);
    const result = await deliverWebhook(
      {
        url: hook.url,
        secret: 'a-long-enough-secret',
        event: 'job.succeeded',
        payload,
        deliveryId: 'j1-job.succeeded',
      },
      local,
    );
    expect(result).toEqual({ delivered: true, retry: false, status: 204 });
    const [request] = hook.received;
    expect(request!.headers['x-ffleet-event']).toBe('job.succeeded');
    expect(request!.headers['x-ffleet-delivery']).toBe('j1-job.succeeded');
    const timestamp = request!.headers['x-ffleet-timestamp'] as string;
    expect(request!.headers['x-ffleet-signature']).toBe(
      signWebhook('a-long-enough-secret', timestamp, request!.body),
    );
    const body: unknown = JSON.parse(request!.body);
    expect(body).toMatchObject({ event: 'job.succeeded', job: { id: 'j1' } });
    // What a receiver gets has the documented shape (WebhookBodySchema, in the OpenAPI document).
    expect(compileCheck(WebhookBodySchema).problems(body)).toEqual([]);
  });

  it('one attempt each: server errors, timeouts, rate limits and network errors are worth another, other answers are not', async () => {
    let answer = 0;
    const hook = await receiver(() => answer);
    const send = (url: string) => deliverWebhook({ url, event: 'job.failed', payload }, local);
    for (const [status, retry] of [
      [500, true],
      [503, true],
      [408, true],
      [429, true],
      [400, false],
      [404, false],
      [410, false],
    ] as const) {
      answer = status;
      expect(await send(hook.url), String(status)).toEqual({ delivered: false, retry, status });
    }
    // Nobody listens on the discard port: a network error, tried again later.
    const refused = await send('http://127.0.0.1:9/hook');
    expect(refused).toMatchObject({ delivered: false, retry: true });
    expect(refused.error).toMatch(/ECONNREFUSED/);
    // A URL the policy refuses is never worth another try.
    expect(
      await deliverWebhook({ url: 'http://127.0.0.1:9/hook', event: 'job.failed', payload }),
    ).toMatchObject({
      delivered: false,
      retry: false,
    });
  });

  it('takes the status and leaves a receiver whose body never ends or breaks off', async () => {
    const uncaught: unknown[] = [];
    const record = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', record);
    try {
      for (const ending of ['never', 'cut'] as const) {
        server = createServer((request, response) => {
          request.resume();
          request.on('end', () => {
            response.writeHead(200, { 'content-length': String(1024 * 1024) });
            response.write('x'.repeat(1024));
            if (ending === 'cut') setTimeout(() => response.socket?.destroy(), 50);
          });
        });
        await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
        const port = (server.address() as { port: number }).port;
        const result = await deliverWebhook(
          { url: `http://127.0.0.1:${port}/hook`, event: 'job.failed', payload },
          local,
          { timeoutMs: 60_000 },
        );
        expect(result, ending).toEqual({ delivered: true, retry: false, status: 200 });
        await new Promise((resolve) => setTimeout(resolve, 200));
        server.closeAllConnections();
        server.close();
      }
      expect(uncaught).toEqual([]);
    } finally {
      process.off('uncaughtException', record);
    }
  });

  it('does not follow redirects', async () => {
    const hook = await receiver((request) => (request.url === '/hook' ? 302 : 200));
    const result = await deliverWebhook({ url: hook.url, event: 'job.failed', payload }, local);
    expect(result.delivered).toBe(false);
    expect(hook.received.map((r) => r.url)).toEqual(['/hook']);
  });

  it('refuses a host name that resolves inside the network, before connecting', async () => {
    // The machine's own host name resolves to a loopback or private address on Linux hosts.
    const name = hostname();
    const { address } = await lookup(name);
    expect(isPrivateAddress(address)).toBe(true);
    const hook = await receiver(() => 200);
    const result = await deliverWebhook(
      { url: hook.url.replace('127.0.0.1', name), event: 'job.failed', payload },
      { allowHttp: true },
    );
    expect(result.delivered).toBe(false);
    expect(result.error).toMatch(/resolves inside the network/);
    expect(hook.received).toEqual([]);
  });
});
