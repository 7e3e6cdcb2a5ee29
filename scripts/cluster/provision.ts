import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LocalCluster } from './cluster.ts';
import { nodeFor, systemNode } from './nodes.ts';
import { crdManifests } from './schemas.ts';
import { parseYamlDocuments } from './yaml.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Nodes per pool: room for a rolling update of every pool, and for three intel workers. */
export const POOL_NODES: Record<string, string[]> = {
  intel: ['c6i.large', 'c6i.large', 'c6i.xlarge'],
  amd: ['m6a.large', 'm6a.xlarge'],
  arm: ['c7g.large', 'c7g.xlarge'],
  nvidia: ['g4dn.xlarge', 'g4dn.2xlarge'],
  xilinx: ['vt1.3xlarge', 'vt1.6xlarge'],
};
/** Label of the node outside every pool, where the gateway and Redis go. */
export const SYSTEM_LABELS = { 'ffleet.io/role': 'system' };
/** The placeholder k8s/karpenter/ec2nodeclasses.yaml asks users to substitute. */
const CLUSTER_NAME_PLACEHOLDER = ['$', '{CLUSTER_NAME}'].join('');

// biome-ignore lint/suspicious/noExplicitAny: manifests are arbitrary nested data
type Manifest = { kind: string; metadata: { name: string }; spec: any };

/** The YAML files of a folder of the repository (the Grafana dashboard excepted). */
export const manifestFiles = (dir: string): string[] =>
  readdirSync(join(repoRoot, dir))
    .filter((f) => f.endsWith('.yaml') && !f.includes('dashboard'))
    .map((f) => join(repoRoot, dir, f));

const list = (items: unknown[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });

/**
 * Makes the cluster look like an EKS cluster with ffleet's Karpenter setup: Karpenter's and KEDA's CRDs, the
 * NodePools and EC2NodeClasses of k8s/karpenter, and for each pool the fake Spot nodes Karpenter would launch
 * from its NodePool (POOL_NODES), plus two system nodes (the chart keeps its two gateways on different nodes).
 * Returns the pools it made nodes for.
 */
export async function provisionPools(cluster: LocalCluster, clusterName = 'ffleet-local'): Promise<string[]> {
  for (const file of await crdManifests()) await cluster.kubectl(['apply', '--server-side', '-f', file]);
  await cluster.kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
  const manifests = manifestFiles('k8s/karpenter').flatMap(
    (f) => parseYamlDocuments(readFileSync(f, 'utf8'), f) as Manifest[],
  );
  const substituted = JSON.parse(JSON.stringify(manifests).replaceAll(CLUSTER_NAME_PLACEHOLDER, clusterName));
  await cluster.kubectl(['apply', '-f', '-'], list(substituted));

  const classes = manifests.filter((m) => m.kind === 'EC2NodeClass');
  const pools: string[] = [];
  for (const nodePool of manifests.filter((m) => m.kind === 'NodePool')) {
    const pool = nodePool.spec.template.metadata?.labels?.['ffleet.io/pool'] as string | undefined;
    const types = pool ? POOL_NODES[pool] : undefined;
    if (!pool || !types) continue;
    const nodeClass = classes.find((c) => c.metadata.name === nodePool.spec.template.spec.nodeClassRef.name);
    const rootGiB = Number.parseInt(nodeClass?.spec.blockDeviceMappings?.[0]?.ebs?.volumeSize ?? '100', 10);
    await cluster.kubectl(['create', '-f', '-'], list(types.map((t, i) => nodeFor(nodePool, t, i, rootGiB))));
    pools.push(pool);
  }
  await cluster.kubectl(
    ['create', '-f', '-'],
    list(['system-0', 'system-1'].map((name) => systemNode(name, SYSTEM_LABELS))),
  );
  await cluster.kubectl(['wait', '--for=condition=Ready', 'nodes', '--all', '--timeout=60s']);
  return pools.sort();
}
