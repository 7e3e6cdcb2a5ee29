import type { Attributes } from '@opentelemetry/api';
import { RESOURCE } from './attributes.ts';
import { type NodePlacement, readNodePlacement } from './kube-node.ts';

export interface ResourceOptions {
  service: string;
  pool?: string;
  /** none | nvidia | xilinx; defaults to FFLEET_ACCELERATOR or none. */
  accelerator?: string;
  env?: NodeJS.ProcessEnv;
  /** Replaces the Kubernetes API read (tests, or callers that already know the node). */
  readPlacement?: (nodeName: string) => Promise<NodePlacement>;
  /** Told when the node could not be read and env values were used instead. */
  onWarning?: (message: string) => void;
}

/** Kubernetes' names for CPU architectures, which is what node selectors and images use. */
export function cpuArch(arch: string = process.arch): string {
  if (arch === 'x64') return 'amd64';
  return arch;
}

/** True inside a pod, or when a kubeconfig and a node name point at a cluster. */
export function inCluster(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.NODE_NAME && (env.KUBERNETES_SERVICE_HOST || env.KUBECONFIG));
}

/**
 * Where this process runs: service, pool, CPU, accelerator, pod, node and the node's instance
 * type, zone and capacity type. In a cluster the node's labels are the truth; the
 * FFLEET_INSTANCE_TYPE / FFLEET_ZONE / FFLEET_CAPACITY_TYPE env values fill any gap.
 */
export async function resolveResourceAttributes(options: ResourceOptions): Promise<Attributes> {
  const env = options.env ?? process.env;
  let placement: NodePlacement = {};
  if (inCluster(env) && env.NODE_NAME) {
    try {
      placement = await (options.readPlacement ?? readNodePlacement)(env.NODE_NAME);
    } catch (error) {
      options.onWarning?.(`cannot read node ${env.NODE_NAME}, using env values: ${(error as Error).message}`);
    }
  }
  const attributes: Attributes = {
    [RESOURCE.serviceName]: options.service,
    [RESOURCE.hostArch]: cpuArch(),
    [RESOURCE.accelerator]: options.accelerator ?? (env.FFLEET_ACCELERATOR || 'none'),
  };
  const optional: Record<string, string | undefined> = {
    [RESOURCE.pool]: options.pool,
    [RESOURCE.hostType]: placement.instanceType ?? (env.FFLEET_INSTANCE_TYPE || undefined),
    [RESOURCE.zone]: placement.zone ?? (env.FFLEET_ZONE || undefined),
    [RESOURCE.capacityType]: placement.capacityType ?? (env.FFLEET_CAPACITY_TYPE || undefined),
    [RESOURCE.k8sNode]: env.NODE_NAME || undefined,
    [RESOURCE.k8sPod]: env.POD_NAME || undefined,
    [RESOURCE.k8sNamespace]: env.POD_NAMESPACE || undefined,
  };
  for (const [key, value] of Object.entries(optional)) if (value) attributes[key] = value;
  return attributes;
}
