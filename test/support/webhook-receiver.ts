/**
 * A webhook receiver for tests: a loopback HTTP server that keeps the body of every request it
 * gets (as the fleet sends them, JSON) and answers 204.
 */
import { createServer } from 'node:http';
import type { WebhookBody } from '@ffleet/core';

export interface WebhookReceiver {
  /** Where to send webhooks (`http://127.0.0.1:<port>/hook`). */
  url: string;
  /** Every body received, in order. */
  hooks: WebhookBody[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const hooks: WebhookBody[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      hooks.push(JSON.parse(body) as WebhookBody);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hook`,
    hooks,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The fleet settings that let a local fleet call a loopback receiver over http. */
export const LOCAL_WEBHOOKS = { FFLEET_WEBHOOK_ALLOW_HTTP: 'true', FFLEET_WEBHOOK_ALLOW_PRIVATE: 'true' };
