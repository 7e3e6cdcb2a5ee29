/**
 * The settings every ffleet server process shares (gateway and workers): Redis, the pool
 * registry, storage, webhooks, logging and telemetry. Each process adds its own (see the
 * gateway's and worker's config.ts) and reads them all once at start.
 */
import type { Static } from '@sinclair/typebox';
import { DEFAULT_POOLS_FILE, PoolRegistry } from '../pools/registry.ts';
import type { S3Settings } from '../storage/s3.ts';
import type { UrlPolicy } from '../storage/url.ts';
import type { WebhookRetry } from '../webhooks/delivery.ts';
import {
  ConfigError,
  commaList,
  flag,
  integer,
  oneOf,
  optional,
  readSettings,
  settings,
  text,
} from './settings.ts';

/** S3 access, also read by the CLI's report. */
export const S3_SETTINGS = {
  S3_ENDPOINT: optional(
    text({
      description: 'S3-compatible endpoint (MinIO, versitygw); unset uses AWS. Implies path-style addressing',
      documentedDefault: 'AWS',
      pattern: '^https?://',
      expected: 'an http:// or https:// URL',
    }),
  ),
  S3_FORCE_PATH_STYLE: flag({
    default: false,
    description: 'path-style S3 addressing without a custom endpoint',
  }),
  AWS_REGION: text({ default: 'us-east-1', description: 'S3 region' }),
  AWS_ACCESS_KEY_ID: optional(
    text({
      description: "static S3 keys; unset uses the AWS SDK's chain (IRSA on EKS)",
      documentedDefault: 'SDK chain',
    }),
  ),
  AWS_SECRET_ACCESS_KEY: optional(
    text({ description: 'the secret of `AWS_ACCESS_KEY_ID`', documentedDefault: 'SDK chain' }),
  ),
  S3_PART_SIZE_MB: integer({
    default: 8,
    minimum: 5,
    maximum: 5120,
    description: 'multipart upload part size (S3 needs at least 5 MiB)',
  }),
  S3_REQUEST_TIMEOUT_SECONDS: integer({
    default: 120,
    minimum: 1,
    maximum: 3600,
    description:
      'how long an S3 request may wait for a connection, or go without a byte in either direction, before it is given up and retried: an S3 that hangs fails the request instead of holding the job',
  }),
};

export const FLEET_SETTINGS = {
  REDIS_URL: text({
    default: 'redis://127.0.0.1:6379',
    pattern: '^rediss?://',
    expected: 'a redis:// or rediss:// URL',
    description: 'Redis for queues, job state and the worker registry',
  }),
  FFLEET_REDIS_CLUSTER: flag({
    default: false,
    description:
      '`REDIS_URL` is one node of a Redis Cluster (ElastiCache cluster mode); the queue prefix must then carry a hash tag, e.g. `{ffleet}`',
  }),
  FFLEET_QUEUE_PREFIX: text({
    default: 'ffleet',
    pattern: '^[A-Za-z0-9{}_-]{1,64}$',
    expected: 'letters, digits, `_`, `-`, `{` and `}` (1 to 64)',
    description: 'Redis key prefix of every queue, so fleets can share one Redis',
  }),
  FFLEET_POOLS_FILE: optional(
    text({
      description: 'the pool registry (YAML); see [The pool registry](#the-pool-registry)',
      documentedDefault: '`services/core/src/pools/pools.yaml`',
    }),
  ),
  FFLEET_ALLOWED_BUCKETS: commaList({
    description: 'buckets jobs may read and write; empty allows any',
    documentedDefault: 'any',
  }),
  FFLEET_FILE_ROOT: optional(
    text({
      description: 'enables `file:///…` URLs, confined to this directory',
      documentedDefault: 'unset (off)',
    }),
  ),
  ...S3_SETTINGS,
  FFLEET_WEBHOOK_ALLOW_HTTP: flag({
    default: false,
    description: 'let webhooks use `http` (local fleets only)',
  }),
  FFLEET_WEBHOOK_ALLOW_PRIVATE: flag({
    default: false,
    description: 'let webhooks reach loopback and private addresses (local fleets only)',
  }),
  FFLEET_WEBHOOK_ATTEMPTS: integer({
    default: 10,
    minimum: 1,
    maximum: 50,
    description: 'tries of a webhook delivery (network errors, 408, 429 and 5xx are tried again)',
  }),
  FFLEET_WEBHOOK_BACKOFF_MS: integer({
    default: 2000,
    minimum: 100,
    description: 'wait before the second try of a webhook delivery; each next wait doubles',
  }),
  LOG_LEVEL: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], {
    default: 'info',
    description:
      'log level; logs are JSON lines, and lines written inside a span carry `trace_id` and `span_id`',
  }),
  OTEL_EXPORTER_OTLP_ENDPOINT: optional(
    text({
      pattern: '^https?://',
      expected: 'an http:// or https:// URL',
      description:
        "OTLP/HTTP collector, e.g. `http://otel-collector:4318`; tracing is off when unset. The SDK's other `OTEL_*` settings apply too",
      documentedDefault: 'unset (tracing off)',
    }),
  ),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: optional(
    text({
      pattern: '^https?://',
      expected: 'an http:// or https:// URL',
      description: 'the traces endpoint itself (instead of the one above)',
    }),
  ),
  OTEL_SDK_DISABLED: flag({ default: false, description: '`true` turns tracing off whatever the endpoint' }),
  NODE_NAME: optional(
    text({ description: "the node the pod runs on (downward API); in a cluster the node's labels are read" }),
  ),
  POD_NAME: optional(text({ description: 'the pod (downward API), stamped on traces' })),
  POD_NAMESPACE: optional(text({ description: "the pod's namespace (downward API), stamped on traces" })),
  FFLEET_INSTANCE_TYPE: optional(
    text({
      description: 'instance type outside a cluster (or when the node cannot be read), on traces and records',
    }),
  ),
  FFLEET_ZONE: optional(text({ description: 'availability zone, as above' })),
  FFLEET_CAPACITY_TYPE: optional(text({ description: '`spot` or `on-demand`, as above' })),
  FFLEET_ACCELERATOR: optional(
    text({ description: "the gateway's accelerator resource attribute (workers use their pool's)" }),
  ),
};

export const FleetSettings = settings(FLEET_SETTINGS);
export const S3SettingsSchema = settings(S3_SETTINGS);

/** Settings shared by the gateway and workers. */
export interface FleetConfig {
  redisUrl: string;
  /** `redisUrl` is one node of a Redis Cluster. */
  redisCluster: boolean;
  /** BullMQ key prefix, so several fleets can share one Redis. */
  queuePrefix: string;
  pools: PoolRegistry;
  urlPolicy: UrlPolicy;
  /** Root directory for file:// URLs; unset disables them. */
  fileRoot?: string;
  s3: S3Settings;
  /** How webhook deliveries are retried (set on each delivery when it is queued). */
  webhookRetry: WebhookRetry;
}

/** The fleet's part of already-read settings (the gateway's and worker's schemas include it). */
export function fleetConfigFrom(values: Static<typeof FleetSettings>): FleetConfig {
  // On a Redis Cluster every key of a queue (and of a flow's parent and children) must share a
  // slot: the prefix's hash tag puts all of the fleet's keys in one.
  if (values.FFLEET_REDIS_CLUSTER && !/\{[^{}]+\}/.test(values.FFLEET_QUEUE_PREFIX))
    throw new ConfigError([
      `FFLEET_QUEUE_PREFIX must carry a hash tag such as {ffleet} when FFLEET_REDIS_CLUSTER is on, got "${values.FFLEET_QUEUE_PREFIX}"`,
    ]);
  return {
    redisUrl: values.REDIS_URL,
    redisCluster: values.FFLEET_REDIS_CLUSTER,
    queuePrefix: values.FFLEET_QUEUE_PREFIX,
    pools: PoolRegistry.load(values.FFLEET_POOLS_FILE ?? DEFAULT_POOLS_FILE),
    urlPolicy: {
      allowedBuckets: values.FFLEET_ALLOWED_BUCKETS,
      allowFile: Boolean(values.FFLEET_FILE_ROOT),
      webhooks: {
        allowHttp: values.FFLEET_WEBHOOK_ALLOW_HTTP,
        allowPrivate: values.FFLEET_WEBHOOK_ALLOW_PRIVATE,
      },
    },
    fileRoot: values.FFLEET_FILE_ROOT,
    s3: s3SettingsFrom(values),
    webhookRetry: { attempts: values.FFLEET_WEBHOOK_ATTEMPTS, backoffMs: values.FFLEET_WEBHOOK_BACKOFF_MS },
  };
}

export function s3SettingsFrom(values: Static<typeof S3SettingsSchema>): S3Settings {
  return {
    endpoint: values.S3_ENDPOINT,
    region: values.AWS_REGION,
    forcePathStyle: values.S3_FORCE_PATH_STYLE || Boolean(values.S3_ENDPOINT),
    accessKeyId: values.AWS_ACCESS_KEY_ID,
    secretAccessKey: values.AWS_SECRET_ACCESS_KEY,
    partSize: values.S3_PART_SIZE_MB * 1024 * 1024,
    requestTimeoutMs: values.S3_REQUEST_TIMEOUT_SECONDS * 1000,
  };
}

export function loadFleetConfig(env: NodeJS.ProcessEnv = process.env): FleetConfig {
  return fleetConfigFrom(readSettings(FleetSettings, env));
}

export function s3SettingsFromEnv(env: NodeJS.ProcessEnv = process.env): S3Settings {
  return s3SettingsFrom(readSettings(S3SettingsSchema, env));
}
