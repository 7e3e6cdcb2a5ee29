import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PoolRegistry } from '@ffleet/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseYaml } from '../../scripts/cluster/yaml.ts';
import {
  chartDir,
  everyOption,
  everyOptionExternalRedis,
  find,
  helmBin,
  helmTemplate,
  type K8sObject,
  kubeconform,
  parseManifests,
  REQUIRED_SET,
  renderChart,
  repoRoot,
  runCommand,
} from './support/chart.ts';

const timeout = 120_000;
const podSpecs = (objects: K8sObject[]) =>
  objects
    .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')
    .map((o) => ({ name: `${o.kind}/${o.metadata.name}`, spec: o.spec.template.spec }));
const env = (container: K8sObject, name: string) =>
  (container.env as { name: string; value?: string; valueFrom?: unknown }[]).find((e) => e.name === name);

describe('helm chart', () => {
  let defaults: K8sObject[];
  let everything: K8sObject[];
  let defaultsText: string;
  let everythingText: string;
  let externalText: string;

  beforeAll(async () => {
    [defaultsText, everythingText, externalText] = await Promise.all([
      renderChart(),
      renderChart(everyOption),
      renderChart(everyOptionExternalRedis),
    ]);
    defaults = parseManifests(defaultsText);
    everything = parseManifests(everythingText);
  }, timeout);

  it(
    'passes helm lint --strict, with defaults and with every option',
    async () => {
      const helm = await helmBin();
      for (const extra of [
        [],
        ['--set', 'pools.nvidia.enabled=true,pools.xilinx.enabled=true,autoscaling.enabled=true'],
      ]) {
        const result = await runCommand(helm, ['lint', '--strict', chartDir, ...REQUIRED_SET, ...extra]);
        expect(result.stderr + result.stdout, 'helm lint output').toContain('0 chart(s) failed');
        expect(result.code).toBe(0);
      }
    },
    timeout,
  );

  it(
    'renders objects that are valid against the Kubernetes, Karpenter and KEDA schemas',
    async () => {
      for (const [label, text] of [
        ['defaults', defaultsText],
        ['every option', everythingText],
        ['external redis', externalText],
      ] as const) {
        const result = await kubeconform({ text });
        expect(result.code, `${label}:\n${result.stdout}${result.stderr}`).toBe(0);
        expect(result.stdout).toMatch(/Invalid: 0, Errors: 0, Skipped: 0/);
      }
      const kinds = new Set(everything.map((o) => o.kind));
      for (const kind of [
        'Deployment',
        'StatefulSet',
        'ScaledObject',
        'TriggerAuthentication',
        'Ingress',
        'NetworkPolicy',
      ]) {
        expect(kinds, `every-option render includes a ${kind}`).toContain(kind);
      }
    },
    timeout,
  );

  it(
    'validation catches a broken manifest (the schemas are strict)',
    async () => {
      const deployment = find(everything, 'Deployment', 'ffleet-worker-intel');
      const broken = structuredClone(deployment);
      broken.spec.template.spec.containers[0].securityContext.readOnlyRootFilesytem = true;
      const scaled = structuredClone(find(everything, 'ScaledObject', 'ffleet-worker-nvidia'));
      scaled.spec.advanced.scalingModifiers.metricType = 'Average';
      const text = [broken, scaled].map((o) => JSON.stringify(o)).join('\n---\n');
      const result = await kubeconform({ text });
      expect(result.code).not.toBe(0);
      expect(result.stdout).toContain("additional properties 'readOnlyRootFilesytem' not allowed");
      expect(result.stdout).toContain('/spec/advanced/scalingModifiers/metricType');
    },
    timeout,
  );

  it(
    'ships Karpenter, device plugin and observability manifests that are valid too',
    async () => {
      const dirs = ['k8s/karpenter', 'k8s/device-plugins', 'k8s/observability'];
      const files = dirs.flatMap((d) =>
        readdirSync(join(repoRoot, d))
          .filter((f) => f.endsWith('.yaml') && !f.includes('dashboard'))
          .map((f) => join(repoRoot, d, f)),
      );
      const result = await kubeconform({ files });
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toMatch(/Invalid: 0, Errors: 0, Skipped: 0/);
    },
    timeout,
  );

  it('mounts the pool registry the gateway and workers load, with exactly the enabled pools', () => {
    for (const [objects, pools] of [
      [defaults, ['amd', 'arm', 'intel']],
      [everything, ['amd', 'arm', 'intel', 'nvidia', 'xilinx']],
    ] as const) {
      const configMap = find(objects, 'ConfigMap', 'ffleet-pools');
      const registry = PoolRegistry.fromYaml(configMap.data['pools.yaml'], 'rendered ConfigMap');
      expect(registry.pools.map((p) => p.name).sort()).toEqual(pools);
      for (const { name, spec } of podSpecs(objects).filter((p) => !p.name.includes('redis'))) {
        const container = spec.containers[0];
        expect(env(container, 'FFLEET_POOLS_FILE')?.value, name).toBe('/etc/ffleet/pools.yaml');
        const mount = container.volumeMounts.find(
          (m: { mountPath: string }) => m.mountPath === '/etc/ffleet',
        );
        const volume = spec.volumes.find((v: { name: string }) => v.name === mount?.name);
        expect(volume?.configMap?.name, name).toBe('ffleet-pools');
      }
    }
  });

  it("defines the same pools as services/core's registry file, so the chart and a local fleet agree", () => {
    const core = parseYaml(readFileSync(join(repoRoot, 'services/core/src/pools/pools.yaml'), 'utf8')) as {
      pools: Record<string, object>;
    };
    const configMap = find(everything, 'ConfigMap', 'ffleet-pools');
    expect(parseYaml(configMap.data['pools.yaml'])).toEqual(core);
  });

  it('runs every pod non-root with a read-only root filesystem and no capabilities', () => {
    for (const { name, spec } of podSpecs(everything)) {
      expect(spec.securityContext.runAsNonRoot, name).toBe(true);
      expect(spec.securityContext.runAsUser, name).toBeGreaterThan(0);
      // Only the gateway and workers mount a token, and only for reading nodes (rbac.readNodes).
      expect(spec.automountServiceAccountToken, name).toBe(!name.includes('redis'));
      for (const container of spec.containers) {
        expect(container.securityContext, name).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
      }
    }
  });

  it("gives each worker its pool, concurrency, scratch volume and a grace period covering the worker's own", () => {
    for (const pool of ['intel', 'amd', 'arm', 'nvidia', 'xilinx']) {
      const deployment = find(everything, 'Deployment', `ffleet-worker-${pool}`);
      const spec = deployment.spec.template.spec;
      const worker = spec.containers[0];
      expect(env(worker, 'POOL')?.value).toBe(pool);
      expect(env(worker, 'FFLEET_CONCURRENCY')?.value).toBe(
        pool === 'nvidia' || pool === 'xilinx' ? '2' : '1',
      );
      const grace = Number(env(worker, 'FFLEET_SHUTDOWN_GRACE_SECONDS')?.value);
      expect(grace).toBe(90);
      expect(spec.terminationGracePeriodSeconds).toBe(grace + 20);
      const workDir = env(worker, 'FFLEET_WORK_DIR')?.value;
      const mount = worker.volumeMounts.find((m: { mountPath: string }) => m.mountPath === workDir);
      const scratch = spec.volumes.find((v: { name: string }) => v.name === mount.name);
      expect(scratch.emptyDir.sizeLimit).toMatch(/^\d+Gi$/);
      // Scratch plus the 1Gi /tmp emptyDir.
      const gib = Number(/^(\d+)Gi$/.exec(scratch.emptyDir.sizeLimit)![1]);
      expect(worker.resources.requests['ephemeral-storage']).toBe(`${(gib + 1) * 1024}Mi`);
      // No do-not-disrupt: a node Karpenter drains must evict the worker, so SIGTERM hands its job back.
      expect(deployment.spec.template.metadata.annotations['karpenter.sh/do-not-disrupt']).toBeUndefined();
      // KEDA owns the replica count when autoscaling is on.
      expect(deployment.spec.replicas).toBeUndefined();
    }
    expect(find(defaults, 'Deployment', 'ffleet-worker-intel').spec.replicas).toBe(1);
  });

  it('scales each pool on waiting + prioritized + delayed + active jobs, to zero for nvidia and xilinx', () => {
    for (const pool of ['intel', 'amd', 'arm', 'nvidia', 'xilinx']) {
      const scaled = find(everything, 'ScaledObject', `ffleet-worker-${pool}`);
      expect(scaled.spec.scaleTargetRef.name).toBe(`ffleet-worker-${pool}`);
      const keys = scaled.spec.triggers.map((t: { name: string; metadata: { listName: string } }) => [
        t.name,
        t.metadata.listName,
      ]);
      expect(keys).toEqual([
        ['waiting', `ffleet:ffleet-${pool}:wait`],
        ['prioritized', `ffleet:ffleet-${pool}:prioritized`],
        ['delayed', `ffleet:ffleet-${pool}:delayed`],
        ['active', `ffleet:ffleet-${pool}:active`],
      ]);
      const modifiers = scaled.spec.advanced.scalingModifiers;
      expect(modifiers.formula).toBe('waiting + prioritized + delayed + active');
      const concurrency = env(
        find(everything, 'Deployment', `ffleet-worker-${pool}`).spec.template.spec.containers[0],
        'FFLEET_CONCURRENCY',
      );
      expect(modifiers.target).toBe(concurrency?.value);
      expect(scaled.spec.minReplicaCount).toBe(pool === 'nvidia' || pool === 'xilinx' ? 0 : 1);
      expect(scaled.spec.triggers[0].authenticationRef.name).toBe('ffleet-redis');
    }
    expect(find(everything, 'TriggerAuthentication', 'ffleet-redis').spec.secretTargetRef[0]).toEqual({
      parameter: 'password',
      name: 'redis-auth',
      key: 'password',
    });
  });

  it(
    'derives every queue key KEDA reads from fleet.queuePrefix, the prefix the gateway and workers use',
    async () => {
      const objects = parseManifests(
        await renderChart({ fleet: { queuePrefix: 'media' }, autoscaling: { enabled: true } }),
      );
      const bullKey: Record<string, string> = { waiting: 'wait' };
      for (const pool of ['intel', 'amd', 'arm']) {
        for (const trigger of find(objects, 'ScaledObject', `ffleet-worker-${pool}`).spec.triggers) {
          expect(trigger.metadata.listName).toBe(
            `media:ffleet-${pool}:${bullKey[trigger.name] ?? trigger.name}`,
          );
        }
        const worker = find(objects, 'Deployment', `ffleet-worker-${pool}`).spec.template.spec.containers[0];
        expect(env(worker, 'FFLEET_QUEUE_PREFIX')?.value).toBe('media');
      }
      const gateway = find(objects, 'Deployment', 'ffleet-gateway').spec.template.spec.containers[0];
      expect(env(gateway, 'FFLEET_QUEUE_PREFIX')?.value).toBe('media');
    },
    timeout,
  );

  it(
    "on a Redis Cluster: tells the pods, scales with KEDA's redis-cluster scaler, and needs a hash tag in the prefix",
    async () => {
      const cluster = {
        redis: { mode: 'external', external: { url: 'rediss://cfg.example.internal:6379', cluster: true } },
        autoscaling: { enabled: true, redisAddress: 'cfg.example.internal:6379', redisTLS: true },
      };
      const objects = parseManifests(await renderChart({ ...cluster, fleet: { queuePrefix: '{media}' } }));
      for (const pool of ['intel', 'amd', 'arm']) {
        for (const trigger of find(objects, 'ScaledObject', `ffleet-worker-${pool}`).spec.triggers) {
          expect(trigger.type).toBe('redis-cluster');
          expect(trigger.metadata.addresses).toBe('cfg.example.internal:6379');
          expect(trigger.metadata.listName).toMatch(new RegExp(`^\\{media\\}:ffleet-${pool}:`));
        }
      }
      for (const { name, spec } of podSpecs(objects)) {
        expect(env(spec.containers[0], 'FFLEET_REDIS_CLUSTER')?.value, name).toBe('true');
        expect(env(spec.containers[0], 'FFLEET_QUEUE_PREFIX')?.value, name).toBe('{media}');
      }
      // One server: nothing said, and the plain redis scaler.
      expect(
        env(
          find(defaults, 'Deployment', 'ffleet-gateway').spec.template.spec.containers[0],
          'FFLEET_REDIS_CLUSTER',
        ),
      ).toBeUndefined();

      const untagged = await helmTemplate({ ...cluster, fleet: { queuePrefix: 'media' } });
      expect(untagged.code).not.toBe(0);
      expect(untagged.stderr).toContain('needs a hash tag in fleet.queuePrefix, e.g. {media}');
    },
    timeout,
  );

  it('annotates the ServiceAccount for IRSA and reads secrets from Secrets, not plain env', () => {
    const account = find(everything, 'ServiceAccount', 'ffleet');
    expect(account.metadata.annotations['eks.amazonaws.com/role-arn']).toBe(
      'arn:aws:iam::111122223333:role/ffleet-s3',
    );
    const gateway = find(everything, 'Deployment', 'ffleet-gateway').spec.template.spec.containers[0];
    expect(env(gateway, 'FFLEET_API_TOKENS')?.valueFrom).toEqual({
      secretKeyRef: { name: 'ffleet-api-tokens', key: 'api-tokens', optional: true },
    });
    const external = parseManifests(externalText);
    expect(external.some((o) => o.kind === 'StatefulSet')).toBe(false);
    for (const { name, spec } of podSpecs(external)) {
      expect(env(spec.containers[0], 'REDIS_URL')?.valueFrom, name).toEqual({
        secretKeyRef: { name: 'ffleet-redis-url', key: 'redis-url' },
      });
    }
    const trigger = find(external, 'ScaledObject', 'ffleet-worker-intel').spec.triggers[0];
    expect(trigger.metadata).toMatchObject({ address: 'redis.example.internal:6380', enableTLS: 'true' });
  });

  it('grants pods nothing but reading nodes, and no token at all with rbac.readNodes off', async () => {
    const role = find(everything, 'ClusterRole', 'ffleet-ffleet-read-nodes');
    expect(role.rules).toEqual([{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }]);
    const binding = find(everything, 'ClusterRoleBinding', 'ffleet-ffleet-read-nodes');
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'ffleet', namespace: 'ffleet' }]);
    expect(everything.filter((o) => o.kind.startsWith('Role') || o.kind === 'RoleBinding')).toEqual([]);
    const off = parseManifests(await renderChart({ rbac: { readNodes: false } }));
    expect(off.filter((o) => o.kind.startsWith('Cluster'))).toEqual([]);
    for (const { name, spec } of podSpecs(off)) expect(spec.automountServiceAccountToken, name).toBe(false);
    const worker = find(everything, 'Deployment', 'ffleet-worker-xilinx').spec.template.spec.containers[0];
    expect(env(worker, 'NODE_NAME')?.valueFrom).toEqual({ fieldRef: { fieldPath: 'spec.nodeName' } });
    expect(env(worker, 'FFLEET_ACCELERATOR')?.value).toBe('xilinx');
    expect(env(worker, 'OTEL_RESOURCE_ATTRIBUTES')?.value).toBe('deployment.environment=test');
    expect(env(worker, 'FFLEET_METRICS_BUCKET')?.value).toBe('media-metrics');
    expect(env(worker, 'FFLEET_QUALITY_DEFAULT')?.value).toBe('false');
    expect(env(worker, 'FFLEET_QUALITY_MODE')?.value).toBe('full');
    expect(env(worker, 'FFLEET_QUALITY_SUBSAMPLE')?.value).toBe('5');
    const gateway = find(everything, 'Deployment', 'ffleet-gateway').spec.template.spec.containers[0];
    expect(env(gateway, 'FFLEET_TRACE_UI_URL')?.value).toBe('https://jaeger.example.com');
  });

  it('passes the stall limit and the webhook delivery settings to the processes that read them', async () => {
    const settings = (objects: K8sObject[]) => {
      const worker = find(objects, 'Deployment', 'ffleet-worker-amd').spec.template.spec.containers[0];
      const gateway = find(objects, 'Deployment', 'ffleet-gateway').spec.template.spec.containers[0];
      return {
        stalls: env(worker, 'FFLEET_MAX_STALLED_COUNT')?.value,
        concurrency: env(worker, 'FFLEET_WEBHOOK_CONCURRENCY')?.value,
        attempts: [
          env(worker, 'FFLEET_WEBHOOK_ATTEMPTS')?.value,
          env(gateway, 'FFLEET_WEBHOOK_ATTEMPTS')?.value,
        ],
        backoff: [
          env(worker, 'FFLEET_WEBHOOK_BACKOFF_MS')?.value,
          env(gateway, 'FFLEET_WEBHOOK_BACKOFF_MS')?.value,
        ],
      };
    };
    expect(settings(defaults)).toEqual({
      stalls: '2',
      concurrency: '4',
      attempts: ['10', '10'],
      backoff: ['2000', '2000'],
    });
    const set = parseManifests(
      await renderChart({
        workers: { maxStalledCount: 0, webhookConcurrency: 8 },
        fleet: { webhooks: { attempts: 3, backoffMs: 500 } },
      }),
    );
    expect(settings(set)).toEqual({
      stalls: '0',
      concurrency: '8',
      attempts: ['3', '3'],
      backoff: ['500', '500'],
    });
  });

  it("gives each pool's workers its own ffmpeg limits, and the worker's defaults where it sets none", () => {
    const limitsOf = (objects: K8sObject[], pool: string) => {
      const worker = find(objects, 'Deployment', `ffleet-worker-${pool}`).spec.template.spec.containers[0];
      return Object.fromEntries(
        [
          'FFLEET_FFMPEG_MEMORY_MB',
          'FFLEET_FFMPEG_MAX_ALLOC_MB',
          'FFLEET_FFMPEG_THREADS',
          'FFLEET_MAX_OUTPUT_PIXELS',
          'FFLEET_MAX_INPUT_SECONDS',
        ].flatMap((name) => {
          const value = env(worker, name)?.value;
          return value === undefined ? [] : [[name, value]];
        }),
      );
    };
    expect(limitsOf(defaults, 'amd')).toEqual({});
    // Numbers as the worker reads them (8294400, not 8.2944e+06), on the pool that sets them only.
    expect(limitsOf(everything, 'amd')).toEqual({
      FFLEET_FFMPEG_MEMORY_MB: '4096',
      FFLEET_FFMPEG_MAX_ALLOC_MB: '512',
      FFLEET_FFMPEG_THREADS: '2',
      FFLEET_MAX_OUTPUT_PIXELS: '8294400',
      FFLEET_MAX_INPUT_SECONDS: '7200',
    });
    expect(limitsOf(everything, 'intel')).toEqual({});
  });

  it('keeps queues in a Redis with an append-only file and no eviction', () => {
    const redis = find(defaults, 'StatefulSet', 'ffleet-redis');
    const args: string[] = redis.spec.template.spec.containers[0].args;
    const flag = (name: string) => args[args.indexOf(name) + 1];
    expect(flag('--appendonly')).toBe('yes');
    expect(flag('--maxmemory-policy')).toBe('noeviction');
    expect(redis.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('8Gi');
  });

  it('lets only fleet pods (and KEDA when it autoscales) reach Redis', () => {
    const policy = find(everything, 'NetworkPolicy', 'ffleet-redis');
    expect(policy.spec.ingress[0].from).toEqual([
      {
        podSelector: {
          matchLabels: { 'app.kubernetes.io/name': 'ffleet', 'app.kubernetes.io/instance': 'ffleet' },
        },
      },
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keda' } } },
    ]);
    const defaultsPolicy = find(defaults, 'NetworkPolicy', 'ffleet-redis');
    expect(defaultsPolicy.spec.ingress[0].from).toHaveLength(1);
  });

  it("keeps workers away from the instance metadata service (the node's credentials)", () => {
    const policy = find(defaults, 'NetworkPolicy', 'ffleet-worker');
    expect(policy.spec.policyTypes).toContain('Egress');
    const blocks = policy.spec.egress.flatMap(
      (rule: { to: { ipBlock: { cidr: string; except?: string[] } }[] }) =>
        rule.to.map((peer) => peer.ipBlock),
    );
    expect(blocks.find((b: { cidr: string }) => b.cidr === '0.0.0.0/0').except).toContain(
      '169.254.169.254/32',
    );
    expect(blocks.find((b: { cidr: string }) => b.cidr === '::/0').except).toContain('fd00:ec2::254/128');
  });

  it('rolls pods when the pool registry changes', async () => {
    const changed = parseManifests(await renderChart({ pools: { intel: { concurrency: 3 } } }));
    const checksum = (objects: K8sObject[], name: string) =>
      find(objects, 'Deployment', name).spec.template.metadata.annotations['checksum/pools'];
    expect(checksum(changed, 'ffleet-worker-amd')).not.toBe(checksum(defaults, 'ffleet-worker-amd'));
    expect(checksum(changed, 'ffleet-gateway')).not.toBe(checksum(defaults, 'ffleet-gateway'));
  });
});
