import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../scripts/cluster/cluster.ts';
import { manifestFiles } from '../../scripts/cluster/manifests.ts';
import { POOL_NODES, provisionPools, SYSTEM_LABELS } from '../../scripts/cluster/provision.ts';
import { chartDir, everyOption, type K8sObject, renderChart, repoRoot } from '../chart/support/chart.ts';
import { workerPods as supportWorkerPods } from './support.ts';

// The chart on a real API server, scheduler and controller manager, with kwok nodes shaped like the Spot nodes
// Karpenter launches from k8s/karpenter: each worker pool must land on its own nodes and nowhere else.

const NAMESPACE = 'ffleet';
const RELEASE = 'ffleet';
const POOLS = ['intel', 'amd', 'arm', 'nvidia', 'xilinx'];
/** Every pool, plain replicas (no KEDA operator runs here), Redis on an emptyDir (no volume provisioner). */
const installValues = {
  fleet: { allowedBuckets: ['ffleet-media'] },
  pools: { nvidia: { enabled: true }, xilinx: { enabled: true } },
  redis: { internal: { persistence: { enabled: false }, nodeSelector: SYSTEM_LABELS } },
  gateway: { nodeSelector: SYSTEM_LABELS },
};

describe('the chart on a Kubernetes control plane with kwok nodes per pool', () => {
  let cluster: LocalCluster;
  const kubectl = (...args: string[]) => cluster.kubectl(args);
  const helm = (...args: string[]) => cluster.helm(args);
  const list = (...args: string[]) => cluster.list<K8sObject>(...args);
  const nodesByName = async () => new Map((await list('nodes')).map((n) => [n.metadata.name, n]));
  const workerPods = (pool: string) => supportWorkerPods(cluster, NAMESPACE, pool);
  const runningOn = async (pool: string, count: number) =>
    cluster.eventually(`${count} running ${pool} workers`, async () => {
      const pods = await workerPods(pool);
      const running = pods.filter((p) => p.status.phase === 'Running' && p.spec.nodeName);
      return pods.length === count && running.length === count ? running : undefined;
    });

  beforeAll(async () => {
    cluster = await LocalCluster.start((line) => console.log(`[cluster] ${line}`));
    // Karpenter's and KEDA's CRDs, our NodePools and EC2NodeClasses, and Karpenter-shaped Spot nodes per pool.
    expect(await provisionPools(cluster, 'ffleet-test')).toEqual([...POOLS].sort());
  }, 1_800_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('accepts the NodePools, EC2NodeClasses and device plugins (Karpenter CRDs with their CEL rules)', async () => {
    const names = (await list('nodepools.karpenter.sh')).map((n) => n.metadata.name).sort();
    expect(names).toEqual(POOLS.map((p) => `ffleet-${p}`).sort());
    expect(await list('ec2nodeclasses.karpenter.k8s.aws')).toHaveLength(3);
    await kubectl('apply', ...manifestFiles('k8s/device-plugins').flatMap((f) => ['-f', f]));
    const nodes = await nodesByName();
    for (const [daemonSet, pool] of [
      ['nvidia-device-plugin-daemonset', 'nvidia'],
      ['xilinx-u30-device-plugin', 'xilinx'],
    ] as const) {
      const pods = await cluster.eventually(`${daemonSet} pods`, async () => {
        const items = (await list('pods', '-n', 'kube-system')).filter(
          (p) => p.metadata.ownerReferences?.[0]?.name === daemonSet && p.spec.nodeName,
        );
        return items.length === POOL_NODES[pool]!.length ? items : undefined;
      });
      for (const pod of pods)
        expect(nodes.get(pod.spec.nodeName)?.metadata.labels['ffleet.io/pool']).toBe(pool);
    }
  });

  it('validates every object of an every-option render on the API server (dry run)', async () => {
    await kubectl('create', 'namespace', 'ffleet-dry-run');
    const text = await renderChart(everyOption, RELEASE, 'ffleet-dry-run');
    const { stdout } = await cluster.kubectl(
      ['apply', '--dry-run=server', '-n', 'ffleet-dry-run', '-f', '-'],
      text,
    );
    for (const kind of [
      'scaledobject.keda.sh',
      'triggerauthentication.keda.sh',
      'deployment.apps',
      'ingress.networking.k8s.io',
    ]) {
      expect(stdout).toContain(kind);
    }
  });

  it('installs with every pool and schedules each worker on its own pool nodes only', async () => {
    const output = await helm(
      'install',
      RELEASE,
      chartDir,
      '--namespace',
      NAMESPACE,
      '--create-namespace',
      '--values',
      await valuesFile(cluster.dir, installValues),
      '--wait',
      '--timeout',
      '3m',
    );
    // NOTES.txt tells the user how to reach the API, post a job and scale a pool.
    expect(output).toContain(`kubectl -n ${NAMESPACE} port-forward svc/${RELEASE}-gateway 8080:80`);
    expect(output).toContain('/v1/jobs');
    expect(output).toContain(`scale deployment/${RELEASE}-worker-intel --replicas=3`);
    // No token was given: the chart made one, and NOTES says how to read it.
    expect(output).toContain(`get secret ${RELEASE}-api-tokens -o jsonpath='{.data.api-tokens}' | base64 -d`);
    const nodes = await nodesByName();
    for (const pool of POOLS) {
      const [pod] = await runningOn(pool, 1);
      const node = nodes.get(pod!.spec.nodeName)!;
      expect(node.metadata.labels['ffleet.io/pool'], `${pool} worker on ${node.metadata.name}`).toBe(pool);
      expect(node.metadata.labels['karpenter.sh/capacity-type']).toBe('spot');
    }
    // The pods' token may read nodes (for trace attributes) and nothing else.
    const as = `--as=system:serviceaccount:${NAMESPACE}:${RELEASE}`;
    const can = async (...args: string[]) =>
      (await kubectl('auth', 'can-i', ...args, as).catch((e: { stdout: string }) => e)).stdout.trim();
    expect(await can('get', 'nodes')).toBe('yes');
    expect(await can('list', 'nodes')).toBe('no');
    expect(await can('get', 'secrets', '-n', NAMESPACE)).toBe('no');
    const gateway = await list('pods', '-n', NAMESPACE, '-l', 'app.kubernetes.io/component=gateway');
    // Required anti-affinity: one gateway per node.
    expect(gateway.map((p) => p.spec.nodeName).sort()).toEqual(['system-0', 'system-1']);
  });

  it('scales one pool with kubectl scale: 3 workers on its nodes, then 0, then back', async () => {
    const deployment = `deployment/${RELEASE}-worker-intel`;
    await kubectl('scale', deployment, '-n', NAMESPACE, '--replicas=3');
    const three = await runningOn('intel', 3);
    const nodes = await nodesByName();
    for (const pod of three)
      expect(nodes.get(pod.spec.nodeName)?.metadata.labels['ffleet.io/pool']).toBe('intel');
    await kubectl('scale', deployment, '-n', NAMESPACE, '--replicas=0');
    await cluster.eventually('intel scaled to zero', async () =>
      (await workerPods('intel')).length === 0 ? true : undefined,
    );
    await kubectl('scale', deployment, '-n', NAMESPACE, '--replicas=1');
    await runningOn('intel', 1);
    // Other pools were left alone.
    for (const pool of POOLS.filter((p) => p !== 'intel')) expect(await workerPods(pool)).toHaveLength(1);
  });

  it("ffleet scale sets one pool's workers by the chart's labels", async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        join(repoRoot, 'services/cli/src/main.ts'),
        'scale',
        'amd',
        '2',
        '--namespace',
        NAMESPACE,
        '--release',
        RELEASE,
      ],
      { env: { ...process.env, KUBECONFIG: cluster.kubeconfig, FFLEET_KUBECTL: cluster.kubectlPath } },
    );
    expect(stdout).toContain('scaled');
    const two = await runningOn('amd', 2);
    const nodes = await nodesByName();
    for (const pod of two)
      expect(nodes.get(pod.spec.nodeName)?.metadata.labels['ffleet.io/pool']).toBe('amd');
    await kubectl('scale', `deployment/${RELEASE}-worker-amd`, '-n', NAMESPACE, '--replicas=1');
    await runningOn('amd', 1);
  });

  it('rolls the workers on helm upgrade of a changed value, keeping the API token the chart made', async () => {
    const before = (await workerPods('nvidia'))[0]!;
    const apiToken = async () =>
      Buffer.from(
        (await cluster.list<K8sObject>('secrets', '-n', NAMESPACE)).find(
          (s) => s.metadata.name === `${RELEASE}-api-tokens`,
        )?.data?.['api-tokens'] ?? '',
        'base64',
      ).toString();
    const token = await apiToken();
    expect(token).toMatch(/^[A-Za-z0-9]{48}$/);
    await helm(
      'upgrade',
      RELEASE,
      chartDir,
      '--namespace',
      NAMESPACE,
      '--values',
      await valuesFile(cluster.dir, installValues),
      '--set',
      'workers.shutdownGraceSeconds=60',
      '--wait',
      '--timeout',
      '3m',
    );
    for (const pool of POOLS) {
      await kubectl(
        'rollout',
        'status',
        `deployment/${RELEASE}-worker-${pool}`,
        '-n',
        NAMESPACE,
        '--timeout=120s',
      );
      const [pod] = await runningOn(pool, 1);
      const env = pod!.spec.containers[0].env as { name: string; value?: string }[];
      expect(env.find((e) => e.name === 'FFLEET_SHUTDOWN_GRACE_SECONDS')?.value).toBe('60');
      expect(pod!.spec.terminationGracePeriodSeconds).toBe(80);
    }
    expect((await workerPods('nvidia'))[0]!.metadata.name).not.toBe(before.metadata.name);
    // The upgrade found the Secret in the cluster (lookup) and kept its token: clients keep working.
    expect(await apiToken()).toBe(token);
  });

  it('leaves nothing behind on helm uninstall', async () => {
    await helm('uninstall', RELEASE, '--namespace', NAMESPACE, '--wait', '--timeout', '2m');
    const resources = (await kubectl('api-resources', '--verbs=list', '--namespaced', '-o', 'name')).stdout
      .split('\n')
      .filter((r) => r && !r.startsWith('events'));
    await cluster.eventually('an empty namespace', async () => {
      const { stdout } = await kubectl(
        'get',
        resources.join(','),
        '-n',
        NAMESPACE,
        '-o',
        'name',
        '--ignore-not-found',
      );
      // What every namespace has: its service account and the cluster CA bundle.
      const left = stdout
        .split('\n')
        .filter((l) => l && l !== 'configmap/kube-root-ca.crt' && l !== 'serviceaccount/default');
      if (left.length > 0) throw new Error(`left behind: ${left.join(', ')}`);
      return true;
    });
    const clusterScoped = await kubectl(
      'get',
      'clusterroles,clusterrolebindings',
      '-l',
      `app.kubernetes.io/instance=${RELEASE}`,
      '-o',
      'name',
    );
    expect(clusterScoped.stdout.trim()).toBe('');
    const releases = await helm('list', '--all', '--namespace', NAMESPACE, '--short');
    expect(releases.trim()).toBe('');
  });
});

async function valuesFile(dir: string, values: object): Promise<string> {
  const file = join(dir, 'values.json');
  await writeFile(file, JSON.stringify(values));
  return file;
}
