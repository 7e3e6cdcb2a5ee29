import { allocatable, INSTANCE_TYPES } from './instance-types.ts';

/**
 * Fake nodes shaped like the ones Karpenter launches for a NodePool: its template labels and taints, a value for
 * each requirement, Karpenter's own labels, and the capacity of the instance type (with the accelerator the
 * device plugin would advertise). kwok marks them Ready and runs their pods.
 */
interface Requirement {
  key: string;
  operator: string;
  values?: string[];
}
interface NodePool {
  metadata: { name: string };
  spec: {
    template: {
      metadata?: { labels?: Record<string, string> };
      spec: { requirements: Requirement[]; taints?: { key: string; value?: string; effect: string }[] };
    };
  };
}

export const KWOK_ANNOTATION = { 'kwok.x-k8s.io/node': 'fake' };

export function nodeFor(nodePool: NodePool, instanceType: string, index: number, ephemeralGiB = 100): object {
  const type = INSTANCE_TYPES[instanceType];
  if (!type) throw new Error(`unknown instance type ${instanceType}`);
  const name = `${nodePool.metadata.name}-${instanceType.replace('.', '-')}-${index}`;
  const labels: Record<string, string> = {
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': type.arch,
    'node.kubernetes.io/instance-type': instanceType,
    'karpenter.k8s.aws/instance-family': type.family,
    'karpenter.sh/capacity-type': 'spot',
    'karpenter.sh/nodepool': nodePool.metadata.name,
    'topology.kubernetes.io/zone': 'us-east-1a',
    ...nodePool.spec.template.metadata?.labels,
  };
  for (const requirement of nodePool.spec.template.spec.requirements) {
    const value = labels[requirement.key];
    if (requirement.operator === 'In' && (value === undefined || !requirement.values?.includes(value))) {
      throw new Error(
        `${name}: ${requirement.key}=${value} does not satisfy NodePool ${nodePool.metadata.name}`,
      );
    }
  }
  const room = allocatable(type);
  const devices = Object.fromEntries(Object.entries(type.devices).map(([k, v]) => [k, String(v)]));
  return node(name, labels, nodePool.spec.template.spec.taints ?? [], {
    capacity: {
      cpu: String(type.vcpu),
      memory: `${type.memoryGiB}Gi`,
      'ephemeral-storage': `${ephemeralGiB}Gi`,
      pods: '58',
      ...devices,
    },
    allocatable: {
      cpu: `${room.cpuMillis}m`,
      memory: `${room.memoryMiB}Mi`,
      'ephemeral-storage': `${ephemeralGiB - 10}Gi`,
      pods: '58',
      ...devices,
    },
    arch: type.arch,
  });
}

/** An untainted on-demand node outside every ffleet pool, for the gateway and Redis. */
export function systemNode(name: string, labels: Record<string, string>): object {
  return node(
    name,
    {
      'kubernetes.io/hostname': name,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'node.kubernetes.io/instance-type': 'm6a.xlarge',
      ...labels,
    },
    [],
    {
      capacity: { cpu: '4', memory: '16Gi', 'ephemeral-storage': '100Gi', pods: '58' },
      allocatable: { cpu: '3650m', memory: '14700Mi', 'ephemeral-storage': '90Gi', pods: '58' },
      arch: 'amd64',
    },
  );
}

function node(
  name: string,
  labels: Record<string, string>,
  taints: object[],
  status: { capacity: Record<string, string>; allocatable: Record<string, string>; arch: string },
): object {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels, annotations: { ...KWOK_ANNOTATION } },
    spec: { taints },
    status: {
      capacity: status.capacity,
      allocatable: status.allocatable,
      nodeInfo: {
        architecture: status.arch,
        operatingSystem: 'linux',
        kubeletVersion: 'fake',
        kubeProxyVersion: 'fake',
        containerRuntimeVersion: 'fake',
        osImage: 'fake',
        kernelVersion: 'fake',
        bootID: '',
        machineID: '',
        systemUUID: '',
      },
    },
  };
}
