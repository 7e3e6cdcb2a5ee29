import type { LocalCluster } from './cluster.ts';
import { karpenterManifests } from './manifests.ts';
import { nodeFor, systemNode } from './nodes.ts';
import { crdManifests } from './schemas.ts';

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
/** Nodes outside every pool: two, since the chart keeps its two gateways on different nodes. */
export const SYSTEM_NODES = ['system-0', 'system-1'];
/** The placeholder k8s/karpenter/ec2nodeclasses.yaml asks users to substitute. */
const CLUSTER_NAME_PLACEHOLDER = ['$', '{CLUSTER_NAME}'].join('');

const list = (items: unknown[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });

/**
 * Makes the cluster look like an EKS cluster with ffleet's Karpenter setup: Karpenter's and KEDA's CRDs, the
 * NodePools, EC2NodeClasses and NodeOverlays of k8s/karpenter, and for each pool the fake Spot nodes Karpenter
 * would launch from its NodePool (POOL_NODES), plus the system nodes. Returns the pools it made nodes for. (No
 * Karpenter runs here: scripts/cluster/karpenter.ts runs the real one, which launches nodes itself.)
 */
export async function provisionPools(cluster: LocalCluster, clusterName = 'ffleet-local'): Promise<string[]> {
  for (const file of await crdManifests()) await cluster.kubectl(['apply', '--server-side', '-f', file]);
  await cluster.kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
  const manifests = karpenterManifests();
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
  await createSystemNodes(cluster);
  await cluster.kubectl(['wait', '--for=condition=Ready', 'nodes', '--all', '--timeout=60s']);
  return pools.sort();
}

/** The system nodes, where the gateway and Redis go (Karpenter never launches them). */
export async function createSystemNodes(cluster: LocalCluster): Promise<void> {
  await cluster.kubectl(
    ['create', '-f', '-'],
    list(SYSTEM_NODES.map((name) => systemNode(name, SYSTEM_LABELS))),
  );
}
