import {
  ConfigError,
  commaList,
  FLEET_SETTINGS,
  type FleetConfig,
  fleetConfigFrom,
  integer,
  optional,
  readSettings,
  settings,
  text,
} from '@ffleet/core';
import type { RateLimitSettings } from './plugins/rate-limit.ts';
import { type ApiToken, plainToken, readTokensFile, TOKEN_PATTERN } from './tokens.ts';

/** Every variable the gateway reads (with the fleet's shared ones); docs/configuration.md is generated from it. */
export const GatewaySettings = settings({
  ...FLEET_SETTINGS,
  HOST: text({ default: '127.0.0.1', description: 'listen address (the chart sets `0.0.0.0`)' }),
  PORT: integer({ default: 8080, maximum: 65_535, description: 'listen port' }),
  FFLEET_API_TOKENS: commaList({
    itemPattern: TOKEN_PATTERN,
    description:
      'comma-separated bearer tokens for `/v1/*` and `/batch/*` (visible ASCII, no commas), each allowed everything',
    documentedDefault: 'unset (no auth)',
  }),
  FFLEET_API_TOKENS_FILE: optional(
    text({
      description:
        'a YAML file of named tokens, each optionally scoped to bucket prefixes (`tokens: [{name, token, prefixes, rateLimit}]`; docs/security.md)',
    }),
  ),
  FFLEET_RATE_LIMIT: integer({
    default: 0,
    minimum: 0,
    description:
      'requests per window each API token (or client address, without tokens) may make to `/v1/*` and `/batch/*`, counted in Redis across replicas; `0` is no limit',
  }),
  FFLEET_RATE_LIMIT_WINDOW_SECONDS: integer({
    default: 60,
    minimum: 1,
    maximum: 86_400,
    description: 'the window of `FFLEET_RATE_LIMIT`',
  }),
  FFLEET_AUTH_FAILURES_PER_MINUTE: integer({
    default: 30,
    minimum: 0,
    description:
      'requests with a missing or wrong token one client address may send a minute (counted in Redis across replicas); past it `429 rate_limited` instead of `401`; `0` is no limit',
  }),
  FFLEET_REDIS_TIMEOUT_MS: integer({
    default: 2000,
    minimum: 100,
    description:
      'the longest one Redis command of the gateway waits for an answer; a request whose command meets it answers `503 unavailable` with `Retry-After`',
  }),
  FFLEET_TRACE_UI_URL: optional(
    text({
      pattern: '^https?://',
      expected: 'an http:// or https:// URL',
      description:
        "a trace's address in Jaeger or Grafana without the id (`http://jaeger:16686/trace/`), for `links.trace`",
    }),
  ),
});

/** The gateway's settings, read once at start. */
export interface GatewayConfig {
  fleet: FleetConfig;
  host: string;
  port: number;
  /** FFLEET_API_TOKENS (unscoped) and the tokens of FFLEET_API_TOKENS_FILE. */
  apiTokens: ApiToken[];
  rateLimit: RateLimitSettings;
  authFailuresPerMinute: number;
  traceUiUrl?: string;
  redisTimeoutMs: number;
  logLevel: string;
}

export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const values = readSettings(GatewaySettings, env);
  return {
    fleet: fleetConfigFrom(values),
    host: values.HOST,
    port: values.PORT,
    apiTokens: [
      ...values.FFLEET_API_TOKENS.map(plainToken),
      ...(values.FFLEET_API_TOKENS_FILE ? tokensFromFile(values.FFLEET_API_TOKENS_FILE) : []),
    ],
    rateLimit: { max: values.FFLEET_RATE_LIMIT, windowSeconds: values.FFLEET_RATE_LIMIT_WINDOW_SECONDS },
    authFailuresPerMinute: values.FFLEET_AUTH_FAILURES_PER_MINUTE,
    traceUiUrl: values.FFLEET_TRACE_UI_URL,
    redisTimeoutMs: values.FFLEET_REDIS_TIMEOUT_MS,
    logLevel: values.LOG_LEVEL,
  };
}

/** The tokens file's tokens; a file that cannot be read or is invalid stops the gateway (exit 2). */
function tokensFromFile(path: string): ApiToken[] {
  try {
    return readTokensFile(path);
  } catch (error) {
    throw new ConfigError([`FFLEET_API_TOKENS_FILE: ${(error as Error).message}`]);
  }
}
