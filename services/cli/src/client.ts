import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where the CLI finds the gateway: --gateway, FFLEET_GATEWAY, or a local fleet's .ffleet/dev.env. */
export function resolveGateway(flag?: string): string {
  if (flag) return flag.replace(/\/$/, '');
  if (process.env.FFLEET_GATEWAY) return process.env.FFLEET_GATEWAY.replace(/\/$/, '');
  const devEnv = join(process.cwd(), '.ffleet', 'dev.env');
  if (existsSync(devEnv)) {
    const match = /^FFLEET_GATEWAY=(.+)$/m.exec(readFileSync(devEnv, 'utf8'));
    if (match) return match[1]!.trim();
  }
  return 'http://127.0.0.1:8080';
}

export class ApiError extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, body: unknown) {
    const b = body as { error?: string; message?: string } | undefined;
    super(b?.message ? `${b.error ?? 'error'}: ${b.message}` : `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

/** A small typed client of the gateway's HTTP API. */
export class GatewayClient {
  readonly baseUrl: string;
  readonly #token: string | undefined;

  constructor(baseUrl: string, token = process.env.FFLEET_TOKEN) {
    this.baseUrl = baseUrl;
    this.#token = token;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    const response = await fetch(this.baseUrl + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const parsed = text ? JSON.parse(text) : undefined;
    if (!response.ok) throw new ApiError(response.status, parsed);
    return parsed as T;
  }
}
