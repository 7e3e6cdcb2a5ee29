import { createHmac } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';
import { UnsafeJobError } from '../errors.ts';
import type { WebhookBody, WebhookEvent, WebhookJobPayload } from './payload.ts';

/**
 * Job webhooks: when a job finishes, ffleet POSTs its outcome to the job's `webhook.url`,
 * signed with the job's `webhook.secret`. A webhook URL is caller input pointing ffleet's
 * own network at something, so it gets the same suspicion as any option: https only, no
 * credentials in the URL, no redirects followed, and never an address inside the cluster,
 * the VPC or the metadata service (checked on the address actually connected to).
 */
export interface WebhookPolicy {
  /** Accept http:// URLs (local fleets). */
  allowHttp?: boolean;
  /** Accept loopback, private and link-local addresses (local fleets and tests only). */
  allowPrivate?: boolean;
}

const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [
  ['::', 127],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv6');
}

/** True for addresses a webhook must never reach (loopback, private, link-local, metadata…). */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return PRIVATE.check(address, 'ipv4');
  if (family === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    return mapped ? PRIVATE.check(mapped, 'ipv4') : PRIVATE.check(address, 'ipv6');
  }
  return true;
}

/** Refuses a webhook URL that could never be delivered safely; the address is checked again at send time. */
export function checkWebhookUrl(raw: string, policy: WebhookPolicy = {}): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UnsafeJobError('webhook.url is not a URL', { field: 'webhook.url' });
  }
  if (url.protocol !== 'https:' && !(policy.allowHttp && url.protocol === 'http:')) {
    throw new UnsafeJobError(`webhook.url must use https (got ${url.protocol.replace(':', '')})`, {
      field: 'webhook.url',
    });
  }
  if (url.username || url.password) {
    throw new UnsafeJobError('webhook.url must not carry credentials; use webhook.secret', {
      field: 'webhook.url',
    });
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (
    !policy.allowPrivate &&
    (isIP(host) ? isPrivateAddress(host) : /^(localhost|.*\.local|.*\.internal)$/i.test(host))
  ) {
    throw new UnsafeJobError(`webhook.url points inside the network (${host})`, { field: 'webhook.url' });
  }
  return url;
}

/** `sha256=<hex>` of `<timestamp>.<body>`: receivers recompute it to trust the payload and its age. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface WebhookDelivery {
  url: string;
  secret?: string;
  event: WebhookEvent;
  payload: WebhookJobPayload;
  /** Names this delivery in `X-Ffleet-Delivery`, the same on every attempt: receivers drop repeats by it. */
  deliveryId?: string;
}

/** One attempt's outcome. `retry`: a network error or 5xx, worth trying again later. */
export interface AttemptResult {
  delivered: boolean;
  retry: boolean;
  status?: number;
  error?: string;
}

/**
 * POSTs the event once (the webhook queue retries). Redirects are not followed; the
 * connection's resolved address is checked, so DNS cannot point the webhook inside.
 */
export async function deliverWebhook(
  delivery: WebhookDelivery,
  policy: WebhookPolicy = {},
  options: { timeoutMs?: number } = {},
): Promise<AttemptResult> {
  let url: URL;
  try {
    url = checkWebhookUrl(delivery.url, policy);
  } catch (error) {
    return { delivered: false, retry: false, error: (error as Error).message };
  }
  const message: WebhookBody = {
    event: delivery.event,
    sentAt: new Date().toISOString(),
    ...delivery.payload,
  };
  const body = JSON.stringify(message);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'ffleet-webhook',
    'x-ffleet-event': delivery.event,
    'x-ffleet-timestamp': timestamp,
  };
  if (delivery.deliveryId) headers['x-ffleet-delivery'] = delivery.deliveryId;
  if (delivery.secret) headers['x-ffleet-signature'] = signWebhook(delivery.secret, timestamp, body);
  try {
    const status = await post(url, headers, body, policy, options.timeoutMs ?? 10_000);
    const delivered = status >= 200 && status < 300;
    // Server errors, timeouts and rate limits may pass; any other answer will not change.
    return { delivered, retry: !delivered && (status >= 500 || status === 408 || status === 429), status };
  } catch (error) {
    return {
      delivered: false,
      retry: !(error instanceof UnsafeJobError),
      error: (error as Error).message,
    };
  }
}

function post(
  url: URL,
  headers: Record<string, string>,
  body: string,
  policy: WebhookPolicy,
  timeoutMs: number,
): Promise<number> {
  const guardedLookup = (
    hostname: string,
    opts: object,
    callback: (
      error: NodeJS.ErrnoException | null,
      address: string | LookupAddress[],
      family?: number,
    ) => void,
  ) =>
    dnsLookup(hostname, { ...opts, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const list = addresses as LookupAddress[];
      const refused = list.find((a) => isPrivateAddress(a.address));
      if (refused && !policy.allowPrivate) {
        return callback(
          new UnsafeJobError(`webhook host ${hostname} resolves inside the network (${refused.address})`),
          [],
        );
      }
      const wantsAll = (opts as { all?: boolean }).all;
      if (wantsAll) return callback(null, list);
      return callback(null, list[0]!.address, list[0]!.family);
    });
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        lookup: guardedLookup,
        timeout: timeoutMs,
      },
      (response) => {
        // Only the status counts. The body is never read, so a receiver cannot hold the sender
        // with an endless one, nor throw from a connection cut half-way through it.
        resolve(response.statusCode ?? 0);
        response.destroy();
      },
    );
    request.on('timeout', () => request.destroy(new Error(`webhook timed out after ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end(body);
  });
}
