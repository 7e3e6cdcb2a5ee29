import {
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

/** Every variable the gateway reads (with the fleet's shared ones); docs/configuration.md is generated from it. */
export const GatewaySettings = settings({
  ...FLEET_SETTINGS,
  HOST: text({ default: '127.0.0.1', description: 'listen address (the chart sets `0.0.0.0`)' }),
  PORT: integer({ default: 8080, maximum: 65_535, description: 'listen port' }),
  FFLEET_API_TOKENS: commaList({
    itemPattern: '^[\\x21-\\x2b\\x2d-\\x7e]{1,512}$',
    description: 'comma-separated bearer tokens for `/v1/*` and `/batch/*` (visible ASCII, no commas)',
    documentedDefault: 'unset (no auth)',
  }),
  FFLEET_REDIS_TIMEOUT_MS: integer({
    default: 2000,
    minimum: 100,
    description:
      'the longest a request that needs Redis waits for it; then `503 unavailable` with `Retry-After`',
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
  apiTokens: string[];
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
    apiTokens: values.FFLEET_API_TOKENS,
    traceUiUrl: values.FFLEET_TRACE_UI_URL,
    redisTimeoutMs: values.FFLEET_REDIS_TIMEOUT_MS,
    logLevel: values.LOG_LEVEL,
  };
}
