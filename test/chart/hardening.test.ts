import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseYamlDocuments } from '../../scripts/cluster/yaml.ts';
import {
  chartDir,
  everyOption,
  everyOptionExternalRedis,
  find,
  helmBin,
  type K8sObject,
  parseManifests,
  REQUIRED_SET,
  renderChart,
  repoRoot,
  runCommand,
} from './support/chart.ts';
import { KUBE_SCORE_EXCEPTIONS, kubeScore, unexpectedFindings } from './support/kube-score.ts';

const timeout = 120_000;
const toText = (objects: K8sObject[]) => objects.map((o) => JSON.stringify(o)).join('\n---\n');

describe('kube-score over the chart', () => {
  const renders: Record<string, string> = {};

  beforeAll(async () => {
    [renders.defaults, renders['every option'], renders['external redis']] = await Promise.all([
      renderChart(),
      renderChart(everyOption),
      renderChart(everyOptionExternalRedis),
    ]);
  }, timeout);

  it.each(['defaults', 'every option', 'external redis'])(
    'finds nothing but the documented exceptions (%s)',
    async (label) => {
      const findings = await kubeScore(renders[label]!);
      expect(unexpectedFindings(findings)).toEqual([]);
      // The exceptions are real findings of this chart, not dead entries.
      if (label === 'every option')
        for (const e of KUBE_SCORE_EXCEPTIONS)
          expect(findings.some((f) => f.summary === e.summary)).toBe(true);
    },
    timeout,
  );

  it(
    'fails a render that lost a hardening setting',
    async () => {
      const objects = parseManifests(renders.defaults!);
      const gateway = find(objects, 'Deployment', 'ffleet-gateway');
      delete gateway.spec.template.spec.affinity;
      gateway.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem = false;
      const redis = find(objects, 'StatefulSet', 'ffleet-redis');
      redis.spec.serviceName = 'ffleet-redis';
      const withoutGatewayPolicy = objects.filter(
        (o) => !(o.kind === 'NetworkPolicy' && o.metadata.name === 'ffleet-gateway'),
      );
      const problems = unexpectedFindings(await kubeScore(toText(withoutGatewayPolicy)));
      expect(problems).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            /^Deployment\/ffleet-gateway: \[warning\] deployment-has-host-podantiaffinity/,
          ),
          expect.stringMatching(
            /^Deployment\/ffleet-gateway \(gateway\): \[critical\] container-security-context-readonlyrootfilesystem/,
          ),
          expect.stringMatching(/^Deployment\/ffleet-gateway: \[critical\] pod-networkpolicy/),
          expect.stringMatching(/^StatefulSet\/ffleet-redis: \[critical\] statefulset-has-servicename/),
        ]),
      );
    },
    timeout,
  );

  it('explains every exception in the chart README', async () => {
    const readme = await readFile(join(chartDir, 'README.md'), 'utf8');
    for (const e of KUBE_SCORE_EXCEPTIONS) expect(readme, e.check).toContain(`\`${e.check}\``);
  });
});

describe('chart hardening', () => {
  let defaults: K8sObject[];
  let everything: K8sObject[];

  beforeAll(async () => {
    [defaults, everything] = (await Promise.all([renderChart(), renderChart(everyOption)])).map(
      parseManifests,
    ) as [K8sObject[], K8sObject[]];
  }, timeout);

  it('keeps the gateway, which calls webhook URLs, away from the instance metadata service too', () => {
    const policy = find(defaults, 'NetworkPolicy', 'ffleet-gateway');
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    const blocks = policy.spec.egress.flatMap((rule: { to: { ipBlock: object }[] }) =>
      rule.to.map((p) => p.ipBlock),
    );
    expect(blocks).toEqual(
      find(defaults, 'NetworkPolicy', 'ffleet-worker').spec.egress[0].to.map(
        (p: { ipBlock: object }) => p.ipBlock,
      ),
    );
    expect(blocks[0]).toEqual({ cidr: '0.0.0.0/0', except: ['169.254.169.254/32', '169.254.170.2/32'] });
  });

  it('lets Redis open no connections at all', () => {
    const policy = find(defaults, 'NetworkPolicy', 'ffleet-redis');
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.egress).toEqual([]);
  });

  it('governs the Redis StatefulSet with a headless Service, runs it as the fleet user, probes it two ways', () => {
    const redis = find(defaults, 'StatefulSet', 'ffleet-redis');
    const headless = find(defaults, 'Service', redis.spec.serviceName);
    expect(headless.spec.clusterIP).toBe('None');
    expect(headless.spec.selector).toEqual(redis.spec.selector.matchLabels);
    expect(find(defaults, 'Service', 'ffleet-redis').spec.clusterIP).toBeUndefined();
    expect(redis.spec.template.spec.securityContext).toMatchObject({
      runAsUser: 10001,
      runAsGroup: 10001,
      fsGroup: 10001,
    });
    const container = redis.spec.template.spec.containers[0];
    expect(container.livenessProbe.tcpSocket).toEqual({ port: 'redis' });
    expect(container.readinessProbe.exec.command).toEqual(['redis-cli', 'ping']);
  });

  it('puts gateway replicas on different nodes and spreads them over zones', () => {
    const spec = find(defaults, 'Deployment', 'ffleet-gateway').spec.template.spec;
    const [term] = spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    expect(term.topologyKey).toBe('kubernetes.io/hostname');
    expect(term.labelSelector.matchLabels['app.kubernetes.io/component']).toBe('gateway');
    expect(spec.topologySpreadConstraints[0]).toMatchObject({
      topologyKey: 'topology.kubernetes.io/zone',
      whenUnsatisfiable: 'ScheduleAnyway',
    });
  });

  it('lets drains evict crash-looping pods (unhealthyPodEvictionPolicy: AlwaysAllow on every PDB)', () => {
    const budgets = everything.filter((o) => o.kind === 'PodDisruptionBudget');
    expect(budgets.map((b) => b.metadata.name).sort()).toEqual([
      'ffleet-gateway',
      ...['amd', 'arm', 'intel', 'nvidia', 'xilinx'].map((p) => `ffleet-worker-${p}`),
    ]);
    for (const budget of budgets)
      expect(budget.spec.unhealthyPodEvictionPolicy, budget.metadata.name).toBe('AlwaysAllow');
  });

  it('requests ephemeral storage for every emptyDir and limits it', () => {
    const mib = (q: string) => Number(/^(\d+)(Mi|Gi)$/.exec(q)![1]) * (q.endsWith('Gi') ? 1024 : 1);
    for (const o of everything.filter((x) => x.kind === 'Deployment' || x.kind === 'StatefulSet')) {
      const spec = o.spec.template.spec;
      const container = spec.containers[0];
      const emptyDirs = (spec.volumes ?? [])
        .filter((v: { emptyDir?: object }) => v.emptyDir)
        .reduce(
          (sum: number, v: { emptyDir: { sizeLimit?: string } }) => sum + mib(v.emptyDir.sizeLimit ?? '0Mi'),
          0,
        );
      const { requests, limits } = container.resources;
      expect(mib(requests['ephemeral-storage']), o.metadata.name).toBeGreaterThanOrEqual(emptyDirs);
      expect(mib(limits['ephemeral-storage']), o.metadata.name).toBeGreaterThanOrEqual(
        mib(requests['ephemeral-storage']),
      );
    }
    const intel = find(everything, 'Deployment', 'ffleet-worker-intel').spec.template.spec.containers[0];
    expect(intel.resources.requests['ephemeral-storage']).toBe(`${20 * 1024 + 1024}Mi`);
    expect(intel.resources.limits['ephemeral-storage']).toBe(`${20 * 1024 + 2048}Mi`);
  });

  it('probes workers for readiness on /readyz (taking jobs) and liveness on /healthz', () => {
    const worker = find(defaults, 'Deployment', 'ffleet-worker-intel').spec.template.spec.containers[0];
    expect(worker.readinessProbe.httpGet.path).toBe('/readyz');
    expect(worker.livenessProbe.httpGet.path).toBe('/healthz');
  });

  it('gives the device plugins no service-account token and runs Jaeger and the collector outside group 0', async () => {
    const read = async (file: string) =>
      parseYamlDocuments(await readFile(join(repoRoot, file), 'utf8')) as K8sObject[];
    for (const file of [
      'k8s/device-plugins/nvidia-device-plugin.yaml',
      'k8s/device-plugins/xilinx-u30-device-plugin.yaml',
    ]) {
      const [daemonSet] = await read(file);
      expect(daemonSet!.spec.template.spec.automountServiceAccountToken, file).toBe(false);
    }
    for (const file of ['k8s/observability/jaeger.yaml', 'k8s/observability/otel-collector.yaml']) {
      const deployment = (await read(file)).find((o) => o.kind === 'Deployment')!;
      expect(deployment.spec.template.spec.securityContext, file).toMatchObject({
        runAsUser: 10001,
        runAsGroup: 10001,
      });
    }
  });
});

describe('helm from make setup', () => {
  it(
    'renders the chart without --kube-version, reporting the Kubernetes version its client libraries support',
    async () => {
      const helm = await helmBin();
      const plain = await runCommand(helm, ['template', 'ffleet', chartDir, ...REQUIRED_SET]);
      expect(plain.stderr).toBe('');
      expect(plain.code).toBe(0);
      // The version comes from the client-go helm is built with (1.36 for helm v3.21), as in helm's own Makefile.
      const dir = await mkdtemp(join(tmpdir(), 'ffleet-kube-version-'));
      try {
        await mkdir(join(dir, 'templates'));
        await writeFile(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: probe\nversion: 0.0.1\n');
        await writeFile(
          join(dir, 'templates', 'version.yaml'),
          '# {{ .Capabilities.KubeVersion.Version }}\n',
        );
        const probe = await runCommand(helm, ['template', dir]);
        expect(probe.stdout).toContain('# v1.36.0');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      expect((await runCommand(helm, ['version', '--short'])).stdout.trim()).toBe('v3.21.4');
    },
    timeout,
  );
});
