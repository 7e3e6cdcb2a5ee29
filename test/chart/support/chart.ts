import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureSchemas, kubeconformLocations } from '../../../scripts/cluster/schemas.ts';
import { goTool, helmBin } from '../../../scripts/cluster/tools.ts';
import {
  KUBE_SCORE_MODULE,
  KUBE_SCORE_VERSION,
  KUBECONFORM_MODULE,
  KUBECONFORM_VERSION,
  KUBERNETES_VERSION,
} from '../../../scripts/cluster/versions.ts';
import { parseYamlDocuments } from '../../../scripts/cluster/yaml.ts';

const run = promisify(execFile);

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const chartDir = join(repoRoot, 'charts/ffleet');
export const kubeVersion = KUBERNETES_VERSION.slice(1);

// biome-ignore lint/suspicious/noExplicitAny: manifests are arbitrary nested data that tests read as they check it
type Anything = any;
/** A rendered Kubernetes object, loosely typed: tests read what they check. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [k: string]: Anything };
  [k: string]: Anything;
}

export { helmBin };
export const kubeconformBin = (): Promise<string> =>
  goTool('kubeconform', KUBECONFORM_MODULE, KUBECONFORM_VERSION);
export const kubeScoreBin = (): Promise<string> =>
  goTool('kube-score', KUBE_SCORE_MODULE, KUBE_SCORE_VERSION);

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCommand(file: string, args: string[]): Promise<CommandResult> {
  try {
    const { stdout, stderr } = await run(file, args, { maxBuffer: 64 * 1024 * 1024, cwd: repoRoot });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/**
 * What every install must say: the buckets jobs may use (an empty list fails the install). Tests render
 * with it under their own values, which may take it back (`fleet: {allowedBuckets: []}`).
 */
export const REQUIRED_VALUES = { fleet: { allowedBuckets: ['ffleet-media'] } };
/** The same, as `helm --set` arguments for commands that take no values file (lint). */
export const REQUIRED_SET = ['--set', 'fleet.allowedBuckets={ffleet-media}'];

/** `helm template` of the chart with the given values (as a values file); fails on a non-zero exit. */
export async function renderChart(
  values: object = {},
  release = 'ffleet',
  namespace = 'ffleet',
): Promise<string> {
  const result = await helmTemplate(values, release, namespace);
  if (result.code !== 0) throw new Error(`helm template failed:\n${result.stderr}`);
  return result.stdout;
}

export async function helmTemplate(
  values: object,
  release = 'ffleet',
  namespace = 'ffleet',
): Promise<CommandResult> {
  const dir = await mkdtemp(join(tmpdir(), 'ffleet-values-'));
  try {
    const required = join(dir, 'required.json');
    const file = join(dir, 'values.json');
    await writeFile(required, JSON.stringify(REQUIRED_VALUES));
    await writeFile(file, JSON.stringify(values));
    const helm = await helmBin();
    return await runCommand(helm, [
      'template',
      release,
      chartDir,
      '--namespace',
      namespace,
      '--kube-version',
      kubeVersion,
      '--values',
      required,
      '--values',
      file,
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const parseManifests = (text: string): K8sObject[] => parseYamlDocuments(text) as K8sObject[];

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) {
    const names = objects.filter((o) => o.kind === kind).map((o) => o.metadata.name);
    throw new Error(`no ${kind} ${name} among ${names.join(', ') || 'none'}`);
  }
  return found;
}

/** Validates manifests offline against the Kubernetes, Karpenter and KEDA schemas; returns kubeconform's verdict. */
export async function kubeconform(inputs: { text?: string; files?: string[] }): Promise<CommandResult> {
  const schemas = await ensureSchemas();
  const bin = await kubeconformBin();
  const dir = await mkdtemp(join(tmpdir(), 'ffleet-kubeconform-'));
  try {
    const files = [...(inputs.files ?? [])];
    if (inputs.text !== undefined) {
      files.push(join(dir, 'rendered.yaml'));
      await writeFile(files.at(-1)!, inputs.text);
    }
    const locations = kubeconformLocations(schemas).flatMap((l) => ['-schema-location', l]);
    return await runCommand(bin, [
      '-strict',
      '-summary',
      '-kubernetes-version',
      kubeVersion,
      ...locations,
      ...files,
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Values turning on every pool and every optional feature of the chart. */
export const everyOption = {
  commonLabels: { team: 'video' },
  imagePullSecrets: [{ name: 'registry-credentials' }],
  serviceAccount: { roleArn: 'arn:aws:iam::111122223333:role/ffleet-s3', annotations: { example: 'yes' } },
  fleet: {
    allowedBuckets: ['media-in', 'media-out'],
    metricsBucket: 'media-metrics',
    qualityDefault: false,
    qualityMode: 'full',
    qualitySubsample: 5,
    s3: { region: 'eu-west-1', endpoint: 'https://s3.eu-west-1.amazonaws.com', forcePathStyle: true },
    extraEnv: [{ name: 'LOG_LEVEL', value: 'debug' }],
  },
  telemetry: { resourceAttributes: 'deployment.environment=test', traceUiUrl: 'https://jaeger.example.com' },
  gateway: {
    auth: { tokens: ['a-long-enough-api-token-0001'] },
    service: {
      type: 'LoadBalancer',
      annotations: { 'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internal' },
    },
    ingress: {
      enabled: true,
      className: 'alb',
      annotations: { 'alb.ingress.kubernetes.io/scheme': 'internal' },
      tls: [{ secretName: 'ffleet-tls', hosts: ['ffleet.example.com'] }],
    },
    podAnnotations: { 'prometheus.io/scrape': 'true' },
  },
  workers: { podAnnotations: { 'prometheus.io/scrape': 'true' } },
  autoscaling: { enabled: true, redisPasswordSecret: { name: 'redis-auth', key: 'password' } },
  networkPolicy: {
    gatewayFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress' } } }],
  },
  pools: {
    nvidia: { enabled: true },
    xilinx: { enabled: true },
    amd: {
      ffmpegLimits: {
        memoryMB: 4096,
        maxAllocMB: 512,
        threads: 2,
        maxOutputPixels: 8_294_400,
        maxInputSeconds: 7200,
      },
    },
  },
};

/** Every pool and option, with an external Redis instead of the in-chart one. */
export const everyOptionExternalRedis = {
  ...everyOption,
  redis: { mode: 'external', external: { url: 'rediss://:secret@redis.example.internal:6380/0' } },
  autoscaling: { ...everyOption.autoscaling, redisAddress: 'redis.example.internal:6380', redisTLS: true },
};
