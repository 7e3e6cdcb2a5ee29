import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../lib/stack.ts';
import type { LocalCluster } from './cluster.ts';
import { INSTANCE_TYPES, KARPENTER_KNOWN_DEVICES } from './instance-types.ts';
import { karpenterManifests, type Manifest } from './manifests.ts';
import { cacheDir, goBuild, goModuleDir } from './tools.ts';
import { KARPENTER_CORE_CRDS, KARPENTER_CORE_MODULE, KARPENTER_CORE_VERSION } from './versions.ts';

/**
 * Karpenter's core controller with its kwok cloud provider (the one Karpenter's own tests use) on a LocalCluster:
 * it launches "instances" by creating kwok nodes for NodeClaims, so NodePools, scheduling, NodeOverlays,
 * consolidation, drift and draining are Karpenter's real code; only the EC2 calls are not.
 */

export const karpenterDir = join(cacheDir, `karpenter-${KARPENTER_CORE_VERSION}`);

/** The node class the test NodePools refer to instead of their EC2NodeClass. */
export const KWOK_NODE_CLASS = { group: 'karpenter.kwok.sh', kind: 'KWOKNodeClass', name: 'ffleet' };

/** Builds the controller (the kwok provider's main) into the cache the first time. */
export async function ensureKarpenter(log: (line: string) => void = () => {}): Promise<string> {
  const { 'karpenter-kwok': bin } = await goBuild({
    module: KARPENTER_CORE_MODULE,
    version: KARPENTER_CORE_VERSION,
    commands: { 'karpenter-kwok': './kwok' },
    outDir: karpenterDir,
    patches: ['MetricsPort', 'HealthProbePort'].map((port) => ({
      file: 'pkg/operator/operator.go',
      from: `fmt.Sprintf(":%d", options.FromContext(ctx).${port})`,
      to: `fmt.Sprintf("127.0.0.1:%d", options.FromContext(ctx).${port})`,
      why: `listen on loopback only for ${port} (upstream listens on every interface)`,
    })),
    log,
  });
  return bin!;
}

/** A NodePool of k8s/karpenter as the test runs it: unchanged but for its node class, the kwok one. */
export function withKwokNodeClass(nodePool: Manifest): Manifest {
  const copy = structuredClone(nodePool);
  copy.spec.template.spec.nodeClassRef = { ...KWOK_NODE_CLASS };
  return copy;
}

/** Rough us-east-1 on-demand prices (USD per vCPU-hour); they only order Karpenter's choices, as on EC2. */
const PRICE_PER_VCPU: Record<string, number> = {
  c6i: 0.0425,
  m6a: 0.0432,
  c7g: 0.0363,
  g4dn: 0.1315,
  vt1: 0.0542,
};
const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'];
const SPOT_DISCOUNT = 0.4;

/**
 * The instance types of ffleet's NodePools in the kwok provider's format: capacity as EC2 describes it (with
 * only the devices Karpenter's AWS provider knows: GPUs yes, U30 cards no), root volume as ephemeral storage,
 * and Spot and on-demand offerings in three zones carrying the labels the AWS provider gives its instance types
 * (instance family, category, generation, size). `storageGiB` maps an instance family to its node's disk.
 */
export function kwokInstanceTypes(storageGiB: Record<string, number>): object[] {
  return Object.entries(INSTANCE_TYPES).map(([name, type]) => {
    const [family, size] = name.split('.') as [string, string];
    const [, category, generation] = /^([a-z]+)(\d+)/.exec(family) ?? [];
    const devices = Object.fromEntries(
      Object.entries(type.devices)
        .filter(([resource]) => KARPENTER_KNOWN_DEVICES.includes(resource))
        .map(([resource, count]) => [resource, String(count)]),
    );
    const labels: Record<string, string> = {
      'karpenter.k8s.aws/instance-family': family,
      'karpenter.k8s.aws/instance-category': category!,
      'karpenter.k8s.aws/instance-generation': generation!,
      'karpenter.k8s.aws/instance-size': size,
    };
    const onDemand = type.vcpu * (PRICE_PER_VCPU[family] ?? 0.05);
    const offerings = ZONES.flatMap((zone) =>
      (['spot', 'on-demand'] as const).map((capacityType) => ({
        Price: Number((capacityType === 'spot' ? onDemand * SPOT_DISCOUNT : onDemand).toFixed(4)),
        Available: true,
        Requirements: [
          { key: 'karpenter.sh/capacity-type', operator: 'In', values: [capacityType] },
          { key: 'topology.kubernetes.io/zone', operator: 'In', values: [zone] },
          ...Object.entries(labels).map(([key, value]) => ({ key, operator: 'In', values: [value] })),
        ],
      })),
    );
    return {
      name,
      offerings,
      architecture: type.arch,
      operatingSystems: ['linux'],
      resources: {
        cpu: String(type.vcpu),
        memory: `${type.memoryGiB}Gi`,
        pods: '58',
        'ephemeral-storage': `${storageGiB[family] ?? 100}Gi`,
        ...devices,
      },
    };
  });
}

/** Instance family → root volume size of the EC2NodeClass its NodePool uses, from k8s/karpenter. */
export function storageByFamily(manifests: Manifest[] = karpenterManifests()): Record<string, number> {
  const out: Record<string, number> = {};
  for (const nodePool of manifests.filter((m) => m.kind === 'NodePool')) {
    const nodeClass = manifests.find(
      (m) => m.kind === 'EC2NodeClass' && m.metadata.name === nodePool.spec.template.spec.nodeClassRef.name,
    );
    const size = Number.parseInt(nodeClass?.spec.blockDeviceMappings?.[0]?.ebs?.volumeSize ?? '100', 10);
    const families: { key: string; values?: string[] }[] = nodePool.spec.template.spec.requirements;
    for (const family of families.find((r) => r.key === 'karpenter.k8s.aws/instance-family')?.values ?? [])
      out[family] = size;
  }
  return out;
}

/**
 * Installs Karpenter's core CRDs and the kwok node class, and starts the controller with the NodeOverlay feature
 * gate on. NodePools are up to the caller.
 */
export async function startKarpenter(
  cluster: LocalCluster,
  log: (line: string) => void = () => {},
): Promise<void> {
  const bin = await ensureKarpenter(log);
  const core = await goModuleDir(KARPENTER_CORE_MODULE, KARPENTER_CORE_VERSION, KARPENTER_CORE_CRDS);
  for (const file of KARPENTER_CORE_CRDS)
    await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(core, file)]);
  await cluster.kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
  await cluster.kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: `${KWOK_NODE_CLASS.group}/v1alpha1`,
      kind: KWOK_NODE_CLASS.kind,
      metadata: { name: KWOK_NODE_CLASS.name },
      spec: {},
    }),
  );
  const instanceTypes = join(cluster.dir, 'karpenter-instance-types.json');
  await writeFile(instanceTypes, JSON.stringify(kwokInstanceTypes(storageByFamily()), null, 2));
  const health = await freePort();
  cluster.startProcess('karpenter', bin, [], {
    KUBECONFIG: cluster.kubeconfig,
    DISABLE_LEADER_ELECTION: 'true',
    METRICS_PORT: String(await freePort()),
    HEALTH_PROBE_PORT: String(health),
    FEATURE_GATES: 'NodeOverlay=true',
    INSTANCE_TYPES_FILE_PATH: instanceTypes,
    LOG_LEVEL: 'debug',
  });
  await cluster.waitFor(
    'karpenter',
    async () => (await fetch(`http://127.0.0.1:${health}/readyz`)).ok,
    120_000,
  );
  log('karpenter (kwok provider) ready');
}
