/**
 * A local Kubernetes control plane with kwok nodes per ffleet pool, for trying the chart by hand:
 *   node scripts/cluster/up.ts
 * then, in another shell, with the KUBECONFIG it prints:
 *   helm install ffleet charts/ffleet -n ffleet --create-namespace --set redis.internal.persistence.enabled=false
 *   kubectl -n ffleet get pods -o wide
 * Pods run on fake nodes (no containers start). Ctrl-C stops everything.
 */
import { LocalCluster } from './cluster.ts';
import { provisionPools } from './provision.ts';

const cluster = await LocalCluster.start((line) => console.log(line));
try {
  const pools = await provisionPools(cluster);
  console.log(`nodes for pools: ${pools.join(', ')} (plus system-0 and system-1)`);
  console.log(`export KUBECONFIG=${cluster.kubeconfig}`);
  console.log(`kubectl is ${cluster.kubectlPath}; press Ctrl-C to stop`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
} finally {
  await cluster.stop();
}
