import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import {
  optional,
  readSettings,
  S3_SETTINGS,
  type S3Settings,
  s3SettingsFrom,
  settings,
  text,
} from '@ffleet/core';

/** Every variable the CLI reads; docs/configuration.md is generated from it. */
export const CliSettings = settings({
  FFLEET_GATEWAY: optional(
    text({
      pattern: '^https?://',
      expected: 'an http:// or https:// URL',
      description: 'the gateway the CLI talks to (`--gateway` overrides it)',
      documentedDefault: '`.ffleet/dev.env`, then `http://127.0.0.1:8080`',
    }),
  ),
  FFLEET_TOKEN: optional(text({ description: 'bearer token the CLI sends' })),
  FFLEET_KUBECTL: text({ default: 'kubectl', description: 'the kubectl binary `ffleet scale` runs' }),
  FFLEET_METRICS_BUCKET: optional(
    text({ description: 'the bucket `ffleet report` reads records from (`--bucket` overrides it)' }),
  ),
  FFLEET_BUCKET: optional(
    text({
      description:
        'the bucket local input files are uploaded to (`uploads/`; `--upload-to` overrides it), and the fallback for `FFLEET_METRICS_BUCKET` (the local fleet sets it)',
    }),
  ),
  ...S3_SETTINGS,
});

/** Where `ffleet report` reads quality and timing records. */
export interface RecordSource {
  bucket?: string;
  s3: S3Settings;
}

export interface CliConfig {
  gateway: string;
  token?: string;
  kubectl: string;
  /** The records named by the environment, or else by the local fleet. */
  records: RecordSource;
  /** Where local input files go (`FFLEET_BUCKET`, or else the local fleet's), as an s3:// folder URL. */
  uploadTo?: string;
  /** S3 access from the environment, for a bucket given with --bucket. */
  s3: S3Settings;
}

/** The local fleet's settings file, written by `make dev`. */
export const LOCAL_FLEET_FILE = join('.ffleet', 'dev.env');

/**
 * The CLI's settings: the environment first; what it leaves out (the gateway, the records'
 * bucket and S3 access, the uploads' bucket) comes from a local fleet's `.ffleet/dev.env` when
 * there is one.
 */
export function loadCliConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): CliConfig {
  const values = readSettings(CliSettings, env);
  const file = join(cwd, LOCAL_FLEET_FILE);
  const local = existsSync(file)
    ? readSettings(CliSettings, parseEnv(readFileSync(file, 'utf8')))
    : undefined;
  const s3 = s3SettingsFrom(values);
  const bucket = values.FFLEET_METRICS_BUCKET ?? values.FFLEET_BUCKET;
  const uploadBucket = values.FFLEET_BUCKET ?? local?.FFLEET_BUCKET;
  return {
    gateway: (values.FFLEET_GATEWAY ?? local?.FFLEET_GATEWAY ?? 'http://127.0.0.1:8080').replace(/\/$/, ''),
    token: values.FFLEET_TOKEN,
    kubectl: values.FFLEET_KUBECTL,
    records:
      bucket || !local
        ? { bucket, s3 }
        : { bucket: local.FFLEET_METRICS_BUCKET ?? local.FFLEET_BUCKET, s3: s3SettingsFrom(local) },
    s3,
    ...(uploadBucket ? { uploadTo: `s3://${uploadBucket}/uploads/` } : {}),
  };
}
