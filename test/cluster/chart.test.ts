import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../scripts/cluster/cluster.ts';
import { nodeFor, systemNode } from '../../scripts/cluster/nodes.ts';
import { crdManifests } from '../../scripts/cluster/schemas.ts';
import { parseYamlDocuments } from '../../scripts/cluster/yaml.ts';
import {
  chartDir,
  everyOption,
  helmBin,
  type K8sObject,
  renderChart,
  repoRoot,
} from '../chart/support/chart.ts';

// The chart on a real API server, scheduler and controller manager, with kwok nodes shaped like the Spot nodes
// Karpenter launches from k8s/karpenter: each worker pool must land on its own nodes and nowhere else.

const NAMESPACE = 'ffleet';
const RELEASE = 'ffleet';
const POOLS = ['intel', 'amd', 'arm', 'nvidia', 'xilinx'];
/** Nodes per NodePool: room for a rolling update of every pool, and for 3 intel workers. */
const NODES: Record<string, string[]> = {
  intel: ['c6i.large', 'c6i.large', 'c6i.xlarge'],
  amd: ['m6a.large', 'm6a.xlarge'],
  arm: ['c7g.large', 'c7g.xlarge'],
  nvidia: ['g4dn.xlarge', 'g4dn.2xlarge'],
  xilinx: ['vt1.3xlarge', 'vt1.6xlarge'],
};
const SYSTEM = { 'ffleet.io/role': 'system' };
/** The placeholder k8s/karpenter/ec2nodeclasses.yaml asks users to substitute. */
const CLUSTER_NAME_PLACEHOLDER = ['$', '{CLUSTER_NAME}'].join('');
/** Every pool, plain replicas (no KEDA operator runs here), Redis on an emptyDir (no volume provisioner). */
const installValues = {
  pools: { nvidia: { enabled: true }, xilinx: { enabled: true } },
  redis: { internal: { persistence: { enabled: false }, nodeSelector: SYSTEM } },
  gateway: { nodeSelector: SYSTEM },
};

const readManifests = (dir: string) =>
  readdirSync(join(repoRoot, dir))
    .filter((f) => f.endsWith('.yaml') && !f.includes('dashboard'))
    .map((f) => join(repoRoot, dir, f));

describe('the chart on a Kubernetes control plane with kwok nodes per pool', () => {
  let cluster: LocalCluster;
  let helm: string;
  const kubectl = (...args: string[]) => cluster.kubectl(args);
  const helmRun = async (...args: string[]) =>
    await new Promise<string>((resolve, reject) =>
      execFile(
        helm,
        [...args, '--kubeconfig', cluster.kubeconfig],
        { maxBuffer: 16 << 20 },
        (error, stdout, stderr) =>
          error ? reject(new Error(`helm ${args[0]} failed: ${stderr}`)) : resolve(stdout),
      ),
    );
  const getJson = async (...args: string[]) =>
    JSON.parse((await kubectl('get', ...args, '-o', 'json')).stdout) as { items: K8sObject[] };
  const nodesByName = async () => new Map((await getJson('nodes')).items.map((n) => [n.metadata.name, n]));
  /** Live (not terminating) pods of a pool, with the node each runs on. */
  const workerPods = async (pool: string) =>
    (
      await getJson(
        'pods',
        '-n',
        NAMESPACE,
        '-l',
        `app.kubernetes.io/component=worker,ffleet.io/pool=${pool}`,
      )
    ).items.filter((p) => !p.metadata.deletionTimestamp);
  const runningOn = async (pool: string, count: number) =>
    cluster.eventually(`${count} running ${pool} workers`, async () => {
      const pods = await workerPods(pool);
      const running = pods.filter((p) => p.status.phase === 'Running' && p.spec.nodeName);
      return pods.length === count && running.length === count ? running : undefined;
    });

  beforeAll(async () => {
    helm = await helmBin();
    cluster = await LocalCluster.start((line) => console.log(`[cluster] ${line}`));
    // Karpenter's and KEDA's CRDs at the pinned versions, then the NodePools and EC2NodeClasses themselves.
    for (const file of await crdManifests()) await kubectl('apply', '--server-side', '-f', file);
    await kubectl('wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s');
    const nodePools = readManifests('k8s/karpenter').flatMap(
      (f) => parseYamlDocuments(readFileSync(f, 'utf8'), f) as K8sObject[],
    );
    const ec2NodeClasses = nodePools.filter((o) => o.kind === 'EC2NodeClass');
    const rendered = JSON.stringify(nodePools).replaceAll(CLUSTER_NAME_PLACEHOLDER, 'ffleet-test');
    await cluster.kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: JSON.parse(rendered) }),
    );
    for (const pool of POOLS) {
      const nodePool = nodePools.find((o) => o.kind === 'NodePool' && o.metadata.name === `ffleet-${pool}`);
      if (!nodePool) throw new Error(`no NodePool ffleet-${pool}`);
      const className = nodePool.spec.template.spec.nodeClassRef.name;
      const volume = ec2NodeClasses.find((c) => c.metadata.name === className)?.spec.blockDeviceMappings[0]
        .ebs.volumeSize as string;
      const nodes = NODES[pool]!.map((type, i) =>
        nodeFor(nodePool as never, type, i, Number.parseInt(volume, 10)),
      );
      await cluster.kubectl(
        ['create', '-f', '-'],
        JSON.stringify({ apiVersion: 'v1', kind: 'List', items: nodes }),
      );
    }
    await cluster.kubectl(['create', '-f', '-'], JSON.stringify(systemNode('system-0', SYSTEM)));
    await kubectl('wait', '--for=condition=Ready', 'nodes', '--all', '--timeout=60s');
  }, 1_800_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('accepts the NodePools, EC2NodeClasses and device plugins (Karpenter CRDs with their CEL rules)', async () => {
    const names = (await getJson('nodepools.karpenter.sh')).items.map((n) => n.metadata.name).sort();
    expect(names).toEqual(POOLS.map((p) => `ffleet-${p}`).sort());
    expect((await getJson('ec2nodeclasses.karpenter.k8s.aws')).items).toHaveLength(3);
    await kubectl('apply', ...readManifests('k8s/device-plugins').flatMap((f) => ['-f', f]));
    const nodes = await nodesByName();
    for (const [daemonSet, pool] of [
      ['nvidia-device-plugin-daemonset', 'nvidia'],
      ['xilinx-u30-device-plugin', 'xilinx'],
    ] as const) {
      const pods = await cluster.eventually(`${daemonSet} pods`, async () => {
        const items = (await getJson('pods', '-n', 'kube-system')).items.filter(
          (p) => p.metadata.ownerReferences?.[0]?.name === daemonSet && p.spec.nodeName,
        );
        return items.length === NODES[pool]!.length ? items : undefined;
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
    await helmRun(
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
    const nodes = await nodesByName();
    for (const pool of POOLS) {
      const [pod] = await runningOn(pool, 1);
      const node = nodes.get(pod!.spec.nodeName)!;
      expect(node.metadata.labels['ffleet.io/pool'], `${pool} worker on ${node.metadata.name}`).toBe(pool);
      expect(node.metadata.labels['karpenter.sh/capacity-type']).toBe('spot');
    }
    const gateway = (await getJson('pods', '-n', NAMESPACE, '-l', 'app.kubernetes.io/component=gateway'))
      .items;
    expect(gateway.map((p) => p.spec.nodeName)).toEqual(['system-0', 'system-0']);
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

  it('rolls the workers on helm upgrade of a changed value', async () => {
    const before = (await workerPods('nvidia'))[0]!;
    await helmRun(
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
  });

  it('leaves nothing behind on helm uninstall', async () => {
    await helmRun('uninstall', RELEASE, '--namespace', NAMESPACE, '--wait', '--timeout', '2m');
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
    const releases = await helmRun('list', '--all', '--namespace', NAMESPACE, '--short');
    expect(releases.trim()).toBe('');
  });
});

async function valuesFile(dir: string, values: object): Promise<string> {
  const file = join(dir, 'values.json');
  await writeFile(file, JSON.stringify(values));
  return file;
}
