/**
 * EC2 instance types ffleet's NodePools use: what a node of each type offers. The chart tests check that each
 * pool's worker fits the smallest type its NodePool allows; the cluster tests size their fake nodes with it.
 */
export interface InstanceType {
  family: string;
  arch: 'amd64' | 'arm64';
  vcpu: number;
  memoryGiB: number;
  /** Extended resources the node's device plugin advertises. */
  devices: Record<string, number>;
}

const sizes = (
  family: string,
  arch: InstanceType['arch'],
  rows: [size: string, vcpu: number, memoryGiB: number, devices?: Record<string, number>][],
): Record<string, InstanceType> =>
  Object.fromEntries(
    rows.map(([size, vcpu, memoryGiB, devices = {}]) => [
      `${family}.${size}`,
      { family, arch, vcpu, memoryGiB, devices },
    ]),
  );

export const INSTANCE_TYPES: Record<string, InstanceType> = {
  ...sizes('c6i', 'amd64', [
    ['large', 2, 4],
    ['xlarge', 4, 8],
    ['2xlarge', 8, 16],
    ['4xlarge', 16, 32],
    ['8xlarge', 32, 64],
  ]),
  ...sizes('m6a', 'amd64', [
    ['large', 2, 8],
    ['xlarge', 4, 16],
    ['2xlarge', 8, 32],
    ['4xlarge', 16, 64],
    ['8xlarge', 32, 128],
  ]),
  ...sizes('c7g', 'arm64', [
    ['large', 2, 4],
    ['xlarge', 4, 8],
    ['2xlarge', 8, 16],
    ['4xlarge', 16, 32],
    ['8xlarge', 32, 64],
  ]),
  // One NVIDIA T4 per size up to 8xlarge, four on 12xlarge.
  ...sizes('g4dn', 'amd64', [
    ['xlarge', 4, 16, { 'nvidia.com/gpu': 1 }],
    ['2xlarge', 8, 32, { 'nvidia.com/gpu': 1 }],
    ['4xlarge', 16, 64, { 'nvidia.com/gpu': 1 }],
    ['8xlarge', 32, 128, { 'nvidia.com/gpu': 1 }],
    ['12xlarge', 48, 192, { 'nvidia.com/gpu': 4 }],
  ]),
  // Alveo U30 cards, counted per card (the device plugin's U30AllocUnit=Card).
  ...sizes('vt1', 'amd64', [
    ['3xlarge', 12, 24, { 'amd.com/ama_u30': 1 }],
    ['6xlarge', 24, 48, { 'amd.com/ama_u30': 2 }],
    ['24xlarge', 96, 192, { 'amd.com/ama_u30': 8 }],
  ]),
};

/**
 * Extended resources Karpenter's AWS provider knows an instance type to have (it computes GPUs, Neuron, Gaudi,
 * EFA and pod ENIs). Any other device a pool requests, such as amd.com/ama_u30, Karpenter learns only from a
 * NodeOverlay (k8s/karpenter/nodeoverlays-*.yaml).
 */
export const KARPENTER_KNOWN_DEVICES = ['nvidia.com/gpu'];

/**
 * What pods can use on a node: capacity less an estimate of the kubelet's reservations and the per-node
 * DaemonSets (VPC CNI, kube-proxy, device plugin). Deliberately a little pessimistic.
 */
export function allocatable(type: InstanceType): { cpuMillis: number; memoryMiB: number } {
  return { cpuMillis: type.vcpu * 1000 - 350, memoryMiB: type.memoryGiB * 1024 - 1300 };
}
