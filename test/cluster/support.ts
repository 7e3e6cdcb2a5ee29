import type { LocalCluster } from '../../scripts/cluster/cluster.ts';
import type { K8sObject } from '../chart/support/chart.ts';

/** A pool's live (not terminating) worker pods in the release's namespace. */
export async function workerPods(
  cluster: LocalCluster,
  namespace: string,
  pool: string,
): Promise<K8sObject[]> {
  const pods = await cluster.list<K8sObject>(
    'pods',
    '-n',
    namespace,
    '-l',
    `app.kubernetes.io/component=worker,ffleet.io/pool=${pool}`,
  );
  return pods.filter((p) => !p.metadata.deletionTimestamp);
}
