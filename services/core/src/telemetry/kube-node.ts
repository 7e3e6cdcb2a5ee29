import { NODE_LABELS } from './attributes.ts';

export interface NodePlacement {
  instanceType?: string;
  zone?: string;
  capacityType?: string;
}

/**
 * Reads the labels of the Node this pod runs on from the Kubernetes API (needs `get` on
 * `nodes`). The client is loaded only here: processes outside a cluster never pay for it.
 */
export async function readNodePlacement(nodeName: string, timeoutMs = 3000): Promise<NodePlacement> {
  const { CoreV1Api, KubeConfig } = await import('@kubernetes/client-node');
  const config = new KubeConfig();
  // In a pod: the service account; elsewhere (a test cluster): KUBECONFIG.
  config.loadFromDefault();
  const api = config.makeApiClient(CoreV1Api);
  const node = await withTimeout(api.readNode({ name: nodeName }), timeoutMs, `reading node ${nodeName}`);
  return placementFromLabels(node.metadata?.labels ?? {});
}

export function placementFromLabels(labels: Record<string, string>): NodePlacement {
  return {
    instanceType: labels[NODE_LABELS.instanceType] || undefined,
    zone: labels[NODE_LABELS.zone] || undefined,
    capacityType: labels[NODE_LABELS.capacityType] || undefined,
  };
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
