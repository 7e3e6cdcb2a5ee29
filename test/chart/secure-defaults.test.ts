/**
 * The chart is closed by default: with no tokens given it makes a Secret with a random API token
 * (NOTES says how to read it), an empty bucket list fails the install unless the operator opts into
 * any bucket, and named tokens scoped to prefixes reach the gateway as its tokens file, which the
 * gateway's own parser reads. Rendered with the real helm.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PoolRegistry } from '@ffleet/core';
import { parseTokensFile } from '@ffleet/gateway';
import { describe, expect, it } from 'vitest';
import {
  chartDir,
  find,
  helmBin,
  helmTemplate,
  type K8sObject,
  parseManifests,
  REQUIRED_SET,
  renderChart,
  runCommand,
} from './support/chart.ts';

const timeout = 120_000;

const gatewayOf = (objects: K8sObject[]) => find(objects, 'Deployment', 'ffleet-gateway').spec.template.spec;
const envOf = (objects: K8sObject[], name: string) =>
  (gatewayOf(objects).containers[0].env as { name: string; value?: string; valueFrom?: unknown }[]).find(
    (e) => e.name === name,
  );
const tokensSecret = (objects: K8sObject[]) =>
  objects.find((o) => o.kind === 'Secret' && o.metadata.name === 'ffleet-api-tokens');

/**
 * The chart's NOTES.txt as helm renders it for these values. `helm template` leaves NOTES out and an install
 * needs a cluster, so a copy of the chart renders the same text through `tpl` into a ConfigMap.
 */
async function installOutput(...set: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ffleet-notes-'));
  try {
    const chart = join(dir, 'ffleet');
    await cp(chartDir, chart, { recursive: true });
    await cp(join(chart, 'templates/NOTES.txt'), join(chart, 'notes.txt'));
    await writeFile(
      join(chart, 'templates/notes-probe.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-probe\ndata:\n  notes: {{ tpl (.Files.Get "notes.txt") . | quote }}\n',
    );
    const result = await runCommand(await helmBin(), [
      'template',
      'ffleet',
      chart,
      '--namespace',
      'ffleet',
      '--show-only',
      'templates/notes-probe.yaml',
      ...REQUIRED_SET,
      ...set.flatMap((s) => ['--set', s]),
    ]);
    expect(result.code, result.stderr).toBe(0);
    return find(parseManifests(result.stdout), 'ConfigMap', 'notes-probe').data.notes;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('the API token', () => {
  it(
    'is a random one in a Secret the chart makes when none is given, different per install',
    async () => {
      const [first, second] = await Promise.all([renderChart(), renderChart()]).then((t) =>
        t.map(parseManifests),
      );
      const tokens = [first!, second!].map((objects) => tokensSecret(objects)?.stringData['api-tokens']);
      for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9]{48}$/);
      expect(tokens[0]).not.toBe(tokens[1]);
      expect(envOf(first!, 'FFLEET_API_TOKENS')?.valueFrom).toEqual({
        secretKeyRef: { name: 'ffleet-api-tokens', key: 'api-tokens', optional: true },
      });
      expect(envOf(first!, 'FFLEET_API_TOKENS_FILE')).toBeUndefined();
      // The rate limit is on by default.
      expect(envOf(first!, 'FFLEET_RATE_LIMIT')?.value).toBe('1200');
      expect(envOf(first!, 'FFLEET_RATE_LIMIT_WINDOW_SECONDS')?.value).toBe('60');
    },
    timeout,
  );

  it(
    'is read from the Secret as NOTES says, and the API is open only when asked, with a warning',
    async () => {
      const closed = await installOutput();
      expect(closed).toContain(
        "export FFLEET_TOKEN=$(kubectl -n ffleet get secret ffleet-api-tokens -o jsonpath='{.data.api-tokens}' | base64 -d)",
      );
      expect(closed).toContain('authorization: Bearer $FFLEET_TOKEN');
      expect(closed).not.toContain('WARNING: the API has no tokens');

      const open = await installOutput('gateway.auth.open=true');
      expect(open).toContain('WARNING: the API has no tokens');
      expect(open).not.toContain('FFLEET_TOKEN');
      const objects = parseManifests(await renderChart({ gateway: { auth: { open: true } } }));
      expect(tokensSecret(objects)).toBeUndefined();
      expect(envOf(objects, 'FFLEET_API_TOKENS')).toBeUndefined();
    },
    timeout,
  );

  it(
    'is the given tokens when there are some: no random one is added',
    async () => {
      const objects = parseManifests(
        await renderChart({
          gateway: { auth: { tokens: ['a-long-enough-api-token-0001', 'another-long-token-0002'] } },
        }),
      );
      expect(tokensSecret(objects)?.stringData).toEqual({
        'api-tokens': 'a-long-enough-api-token-0001,another-long-token-0002',
      });
    },
    timeout,
  );
});

describe('tokens scoped to prefixes', () => {
  const scopedTokens = [
    {
      name: 'tenant-a',
      token: 'tenant-a-long-token-0001',
      prefixes: ['s3://ffleet-media/tenant-a/'],
      rateLimit: 300,
    },
    { name: 'ops', token: 'ops-long-enough-token-0002' },
  ];

  it(
    'reach the gateway as its tokens file, in the format the gateway reads, and roll it when they change',
    async () => {
      const objects = parseManifests(await renderChart({ gateway: { auth: { scopedTokens } } }));
      const secret = tokensSecret(objects)!;
      // Only the scoped tokens: none is generated beside them.
      expect(secret.stringData['api-tokens']).toBe('');
      expect(parseTokensFile(secret.stringData['tokens.yaml'], 'rendered Secret')).toEqual(scopedTokens);
      expect(envOf(objects, 'FFLEET_API_TOKENS_FILE')?.value).toBe('/etc/ffleet/auth/tokens.yaml');
      const spec = gatewayOf(objects);
      expect(spec.volumes).toContainEqual({
        name: 'api-tokens',
        secret: { secretName: 'ffleet-api-tokens', items: [{ key: 'tokens.yaml', path: 'tokens.yaml' }] },
      });
      expect(spec.containers[0].volumeMounts).toContainEqual({
        name: 'api-tokens',
        mountPath: '/etc/ffleet/auth',
        readOnly: true,
      });
      const changed = parseManifests(
        await renderChart({
          gateway: { auth: { scopedTokens: [{ ...scopedTokens[0], prefixes: ['s3://x1y/'] }] } },
        }),
      );
      const checksum = (o: K8sObject[]) =>
        find(o, 'Deployment', 'ffleet-gateway').spec.template.metadata.annotations['checksum/api-tokens'];
      expect(checksum(changed)).not.toBe(checksum(objects));
    },
    timeout,
  );

  it(
    'come from an existing Secret that holds the tokens file, when it says so',
    async () => {
      const objects = parseManifests(
        await renderChart({
          gateway: { auth: { existingSecret: 'my-tokens', existingSecretHasTokensFile: true } },
        }),
      );
      expect(tokensSecret(objects)).toBeUndefined();
      expect(gatewayOf(objects).volumes).toContainEqual({
        name: 'api-tokens',
        secret: { secretName: 'my-tokens', items: [{ key: 'tokens.yaml', path: 'tokens.yaml' }] },
      });
      const plain = parseManifests(await renderChart({ gateway: { auth: { existingSecret: 'my-tokens' } } }));
      expect(envOf(plain, 'FFLEET_API_TOKENS_FILE')).toBeUndefined();
      expect(envOf(plain, 'FFLEET_API_TOKENS')?.valueFrom).toEqual({
        secretKeyRef: { name: 'my-tokens', key: 'api-tokens', optional: true },
      });
    },
    timeout,
  );
});

describe('the buckets jobs may use', () => {
  it(
    'must be listed: an empty list fails the install saying how to fix it',
    async () => {
      const result = await helmTemplate({ fleet: { allowedBuckets: [] } });
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain('fleet.allowedBuckets is empty');
      expect(result.stderr).toContain('fleet.allowAnyBucket: true');
    },
    timeout,
  );

  it(
    'may be any bucket the role reaches only when the operator says so',
    async () => {
      const objects = parseManifests(
        await renderChart({ fleet: { allowedBuckets: [], allowAnyBucket: true } }),
      );
      expect(envOf(objects, 'FFLEET_ALLOWED_BUCKETS')?.value).toBe('');
      const listed = parseManifests(await renderChart());
      expect(envOf(listed, 'FFLEET_ALLOWED_BUCKETS')?.value).toBe('ffleet-media');
    },
    timeout,
  );
});

describe("a pool's queue cap", () => {
  it(
    'is rendered into the pool registry the gateway reads',
    async () => {
      const objects = parseManifests(await renderChart({ pools: { intel: { maxQueued: 50 } } }));
      const registry = PoolRegistry.fromYaml(find(objects, 'ConfigMap', 'ffleet-pools').data['pools.yaml']);
      expect(registry.get('intel')?.maxQueued).toBe(50);
      expect(registry.get('amd')?.maxQueued).toBe(100000);
    },
    timeout,
  );
});
