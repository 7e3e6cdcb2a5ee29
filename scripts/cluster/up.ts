/**
 * A local Kubernetes control plane with kwok nodes per ffleet pool, for trying the chart by hand:
 *   node scripts/cluster/up.ts
 * then, in another shell, with the KUBECONFIG it prints:
 *   helm install ffleet charts/ffleet -n ffleet --create-namespace --set redis.internal.persistence.enabled=false \
 *     --set 'fleet.allowedBuckets={ffleet-local}'
 * (NOTES prints how to read the API token the chart made.)
 *   kubectl -n ffleet get pods -o wide
 * Pods run on fake nodes (no containers start). Ctrl-C stops everything.
 *
 *   node scripts/cluster/up.ts --autoscaling
 * runs KEDA and Karpenter (kwok provider) too, with the project's NodePools and NodeOverlays and no pool nodes:
 * Karpenter launches them. Install the chart with autoscaling.enabled=true and a Redis KEDA can reach
 * (autoscaling.redisAddress=127.0.0.1:<port>).
 */
import { LocalCluster } from './cluster.ts';
import { startKarpenter, withKwokNodeClass } from './karpenter.ts';
import { startKeda } from './keda.ts';
import { karpenterManifests } from './manifests.ts';
import { createSystemNodes, provisionPools } from './provision.ts';

const autoscaling = process.argv.includes('--autoscaling');
const log = (line: string) => console.log(line);
const cluster = await LocalCluster.start(log);
try {
  if (autoscaling) {
    await createSystemNodes(cluster);
    await startKeda(cluster, log);
    await startKarpenter(cluster, log);
    const items = karpenterManifests()
      .filter((m) => m.kind === 'NodePool' || m.kind === 'NodeOverlay')
      .map((m) => (m.kind === 'NodePool' ? withKwokNodeClass(m) : m));
    await cluster.kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    console.log('KEDA and Karpenter run; NodePools use the kwok node class; only the system nodes exist');
  } else {
    const pools = await provisionPools(cluster);
    console.log(`nodes for pools: ${pools.join(', ')} (plus system-0 and system-1)`);
  }
  console.log(`export KUBECONFIG=${cluster.kubeconfig}`);
  console.log(`kubectl is ${cluster.kubectlPath}; press Ctrl-C to stop`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
} finally {
  await cluster.stop();
}
