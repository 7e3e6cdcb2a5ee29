import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  allocatable,
  INSTANCE_TYPES,
  KARPENTER_KNOWN_DEVICES,
} from '../../scripts/cluster/instance-types.ts';
import { parseYamlDocuments } from '../../scripts/cluster/yaml.ts';
import { everyOption, find, type K8sObject, parseManifests, renderChart, repoRoot } from './support/chart.ts';

// The worker Deployments of the chart and the NodePools in k8s/karpenter are written separately; these tests
// make sure each pool's pods can only run on its own NodePool's nodes, and fit them.

interface Requirement {
  key: string;
  operator: string;
  values?: string[];
}
interface Taint {
  key: string;
  value?: string;
  effect: string;
}
interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

const POOLS = ['intel', 'amd', 'arm', 'nvidia', 'xilinx'];
const readManifests = (dir: string): K8sObject[] =>
  readdirSync(join(repoRoot, dir))
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((f) => parseYamlDocuments(readFileSync(join(repoRoot, dir, f), 'utf8'), f) as K8sObject[]);

function tolerates(tolerations: Toleration[], taint: Taint): boolean {
  return tolerations.some(
    (t) =>
      (t.key === undefined || t.key === taint.key) &&
      (t.key !== undefined || t.operator === 'Exists') &&
      (t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? '')) &&
      (t.effect === undefined || t.effect === taint.effect),
  );
}

/** Whether every node of the NodePool carries label key=value (a template label, or a single-valued In). */
function guarantees(nodePool: K8sObject, key: string, value: string): boolean {
  const template = nodePool.spec.template;
  if (template.metadata?.labels?.[key] !== undefined) return template.metadata.labels[key] === value;
  const requirement = (template.spec.requirements as Requirement[]).find((r) => r.key === key);
  return (
    requirement?.operator === 'In' && requirement.values?.length === 1 && requirement.values[0] === value
  );
}

/** Whether a NodeOverlay's requirements select an instance type (by its name or instance family). */
function overlayApplies(overlay: K8sObject, type: string): boolean {
  const labels: Record<string, string> = {
    'node.kubernetes.io/instance-type': type,
    'karpenter.k8s.aws/instance-family': INSTANCE_TYPES[type]!.family,
  };
  return (overlay.spec.requirements as Requirement[]).every((r) => {
    if (!(r.key in labels)) throw new Error(`${overlay.metadata.name}: unexpected requirement key ${r.key}`);
    return r.operator === 'In' && (r.values ?? []).includes(labels[r.key]!);
  });
}

const requirementValues = (nodePool: K8sObject, key: string): string[] | undefined =>
  (nodePool.spec.template.spec.requirements as Requirement[]).find(
    (r) => r.key === key && r.operator === 'In',
  )?.values;

const cpuMillis = (q: string | number) =>
  String(q).endsWith('m') ? Number.parseFloat(String(q)) : Number(q) * 1000;
const memoryMiB = (q: string) => {
  const units: Record<string, number> = { Mi: 1, Gi: 1024, Ti: 1024 * 1024 };
  const match = /^(\d+(?:\.\d+)?)(Mi|Gi|Ti)$/.exec(q);
  if (!match) throw new Error(`unexpected memory quantity ${q}`);
  return Number(match[1]) * units[match[2]!]!;
};

describe('worker Deployments and Karpenter NodePools', () => {
  let rendered: K8sObject[];
  const nodePools = readManifests('k8s/karpenter').filter((o) => o.kind === 'NodePool');
  const nodeClasses = readManifests('k8s/karpenter').filter((o) => o.kind === 'EC2NodeClass');
  const devicePlugins = readManifests('k8s/device-plugins').filter((o) => o.kind === 'DaemonSet');
  const nodeOverlays = readManifests('k8s/karpenter').filter((o) => o.kind === 'NodeOverlay');
  const nodePoolOf = (pool: string) => {
    const matches = nodePools.filter((np) => np.spec.template.metadata?.labels?.['ffleet.io/pool'] === pool);
    expect(matches, `exactly one NodePool labels its nodes ffleet.io/pool=${pool}`).toHaveLength(1);
    return matches[0]!;
  };
  const workerOf = (pool: string) => find(rendered, 'Deployment', `ffleet-worker-${pool}`).spec.template.spec;

  beforeAll(async () => {
    rendered = parseManifests(await renderChart(everyOption));
  }, 120_000);

  it.each(POOLS)('%s: the pod selects only nodes its NodePool guarantees', (pool) => {
    const nodePool = nodePoolOf(pool);
    const spec = workerOf(pool);
    expect(spec.nodeSelector['ffleet.io/pool']).toBe(pool);
    for (const [key, value] of Object.entries(spec.nodeSelector as Record<string, string>)) {
      expect(
        guarantees(nodePool, key, value),
        `NodePool ${nodePool.metadata.name} guarantees ${key}=${value}`,
      ).toBe(true);
    }
    const terms = spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
    expect(terms).toHaveLength(1);
    for (const expression of terms[0].matchExpressions as Requirement[]) {
      expect(expression.operator).toBe('In');
      expect(new Set(requirementValues(nodePool, expression.key)), expression.key).toEqual(
        new Set(expression.values),
      );
    }
  });

  it.each(POOLS)('%s: the NodePool is Spot only, of one instance family and the pool arch', (pool) => {
    const nodePool = nodePoolOf(pool);
    const configMap = find(rendered, 'ConfigMap', 'ffleet-pools');
    const registry = parseYamlDocuments(configMap.data['pools.yaml'])[0] as {
      pools: Record<string, { arch: string; instanceTypes: string[] }>;
    };
    const entry = registry.pools[pool]!;
    expect(requirementValues(nodePool, 'karpenter.sh/capacity-type')).toEqual(['spot']);
    expect(requirementValues(nodePool, 'kubernetes.io/arch')).toEqual([entry.arch]);
    expect(new Set(requirementValues(nodePool, 'node.kubernetes.io/instance-type'))).toEqual(
      new Set(entry.instanceTypes),
    );
    const families = requirementValues(nodePool, 'karpenter.k8s.aws/instance-family');
    for (const type of entry.instanceTypes) {
      expect(INSTANCE_TYPES[type], `instance type ${type} is known`).toBeDefined();
      expect(families).toContain(INSTANCE_TYPES[type]!.family);
      expect(INSTANCE_TYPES[type]!.arch).toBe(entry.arch);
    }
    const classRef = nodePool.spec.template.spec.nodeClassRef;
    expect(nodeClasses.map((c) => c.metadata.name)).toContain(classRef.name);
  });

  it.each(POOLS)('%s: the pod tolerates its NodePool taints, and accelerator nodes are tainted', (pool) => {
    const nodePool = nodePoolOf(pool);
    const taints: Taint[] = nodePool.spec.template.spec.taints ?? [];
    const tolerations: Toleration[] = workerOf(pool).tolerations ?? [];
    for (const taint of taints) expect(tolerates(tolerations, taint), `tolerates ${taint.key}`).toBe(true);
    const accelerator = pool === 'nvidia' || pool === 'xilinx';
    expect(taints.length > 0, 'tainted').toBe(accelerator);
  });

  it.each(POOLS)('%s: the pod fits the smallest instance type, with its accelerator', (pool) => {
    const nodePool = nodePoolOf(pool);
    const { requests, limits } = workerOf(pool).containers[0].resources;
    for (const type of requirementValues(nodePool, 'node.kubernetes.io/instance-type') ?? []) {
      const instance = INSTANCE_TYPES[type]!;
      const room = allocatable(instance);
      expect(cpuMillis(requests.cpu), `${type} cpu`).toBeLessThanOrEqual(room.cpuMillis);
      expect(memoryMiB(requests.memory), `${type} memory`).toBeLessThanOrEqual(room.memoryMiB);
      expect(memoryMiB(limits.memory), `${type} memory limit`).toBeLessThanOrEqual(room.memoryMiB);
      for (const [resource, count] of Object.entries(requests)) {
        if (!resource.includes('/')) continue;
        expect(instance.devices[resource] ?? 0, `${type} offers ${resource}`).toBeGreaterThanOrEqual(
          Number(count),
        );
        expect(limits[resource], `${resource} limit equals request`).toBe(count);
      }
    }
    const wanted = { nvidia: 'nvidia.com/gpu', xilinx: 'amd.com/ama_u30' }[pool];
    const extended = Object.keys(requests).filter((r) => r.includes('/'));
    expect(extended).toEqual(wanted ? [wanted] : []);
    if (wanted) expect(nodePool.spec.limits[wanted], `NodePool caps ${wanted}`).toBeDefined();
  });

  it.each(['nvidia', 'xilinx'])(
    '%s: a device plugin runs on the pool nodes and advertises what workers request',
    (pool) => {
      const nodePool = nodePoolOf(pool);
      const resource = pool === 'nvidia' ? 'nvidia.com/gpu' : 'amd.com/ama_u30';
      const plugin = devicePlugins.find((d) =>
        Object.entries(d.spec.template.spec.nodeSelector ?? {}).every(([k, v]) =>
          guarantees(nodePool, k, v as string),
        ),
      );
      expect(plugin, `a DaemonSet in k8s/device-plugins selects ${pool} nodes`).toBeDefined();
      const spec = plugin!.spec.template.spec;
      for (const taint of nodePool.spec.template.spec.taints as Taint[]) {
        expect(tolerates(spec.tolerations, taint), `device plugin tolerates ${taint.key}`).toBe(true);
      }
      if (pool === 'xilinx') {
        // amd.com/ama_u30 counted per card is what CommonName + Card configure.
        const env = Object.fromEntries(
          spec.containers[0].env.map((e: { name: string; value: string }) => [e.name, e.value]),
        );
        expect(env).toMatchObject({ U30NameConvention: 'CommonName', U30AllocUnit: 'Card' });
      }
      expect(workerOf(pool).containers[0].resources.limits[resource]).toBe(1);
    },
  );

  it('never consolidates a node that runs a job, yet lets a drain evict its workers', () => {
    for (const pool of POOLS) {
      const nodePool = nodePoolOf(pool);
      expect(nodePool.spec.disruption.consolidationPolicy, pool).toBe('WhenEmpty');
      // With do-not-disrupt, Karpenter would not evict the worker on a Spot interruption: no SIGTERM, no hand-back.
      const template = find(rendered, 'Deployment', `ffleet-worker-${pool}`).spec.template;
      expect(template.metadata.annotations['karpenter.sh/do-not-disrupt'], pool).toBeUndefined();
    }
  });

  it.each(POOLS)(
    '%s: every device the worker requests is known to Karpenter for each instance type (NodeOverlay)',
    (pool) => {
      const nodePool = nodePoolOf(pool);
      const { requests } = workerOf(pool).containers[0].resources;
      const unknown = Object.keys(requests).filter(
        (r) => r.includes('/') && !KARPENTER_KNOWN_DEVICES.includes(r),
      );
      expect(unknown).toEqual(pool === 'xilinx' ? ['amd.com/ama_u30'] : []);
      for (const resource of unknown) {
        for (const type of requirementValues(nodePool, 'node.kubernetes.io/instance-type') ?? []) {
          const declaring = nodeOverlays.filter(
            (o) => o.spec.capacity?.[resource] !== undefined && overlayApplies(o, type),
          );
          expect(
            declaring.map((o) => o.metadata.name),
            `${type} ${resource}`,
          ).toHaveLength(1);
          expect(declaring[0]!.spec.capacity[resource]).toBe(String(INSTANCE_TYPES[type]!.devices[resource]));
        }
      }
    },
  );

  it('pins the EKS AMIs to one release, never @latest (a new release would drift every node)', () => {
    const aliases = nodeClasses.flatMap((c) =>
      (c.spec.amiSelectorTerms as { alias?: string }[]).flatMap((t) => (t.alias ? [t.alias] : [])),
    );
    expect(aliases.length).toBeGreaterThan(0);
    for (const alias of aliases) expect(alias).toMatch(/^al2023@v\d{8}$/);
    expect(new Set(aliases).size, 'one release for every class').toBe(1);
  });
});
