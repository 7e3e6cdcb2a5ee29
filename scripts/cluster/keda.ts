import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../lib/stack.ts';
import { createCa, issueCert } from './certs.ts';
import type { LocalCluster } from './cluster.ts';
import { cacheDir, goBuild, goModuleDir } from './tools.ts';
import { KEDA_MODULE, KEDA_OPERATOR_CRDS, KEDA_VERSION } from './versions.ts';

/**
 * KEDA on a LocalCluster: its operator (ScaledObjects → HPAs, scale to and from zero, the scalers that read
 * Redis) and its metrics API server (external.metrics.k8s.io, which the HPA controller queries through the API
 * server's aggregation layer), built from the pinned release and run as local processes.
 */

export const kedaDir = join(cacheDir, `keda-${KEDA_VERSION}`);
export const KEDA_NAMESPACE = 'keda';
const METRICS_SERVICE = 'keda-metrics-apiserver';

/** Builds keda-operator and keda-adapter into the cache the first time (every scaler of KEDA: slow). */
export async function ensureKeda(log: (line: string) => void = () => {}): Promise<Record<string, string>> {
  return await goBuild({
    module: KEDA_MODULE,
    version: KEDA_VERSION,
    commands: { 'keda-operator': './cmd/operator', 'keda-adapter': './cmd/adapter' },
    outDir: kedaDir,
    patches: [
      {
        file: 'cmd/adapter/main.go',
        from: 'fmt.Sprintf(":%v", metricsAPIServerPort)',
        to: 'fmt.Sprintf("127.0.0.1:%v", metricsAPIServerPort)',
        why: 'serve the metrics server’s own /metrics on loopback only (upstream listens on every interface)',
      },
    ],
    log,
  });
}

/**
 * Installs KEDA's CRDs, starts the operator and the metrics API server against the cluster and registers the latter as the
 * v1beta1.external.metrics.k8s.io APIService. One certificate authority signs the certificate both use: for the
 * operator's gRPC metrics service (mutual TLS with the metrics server) and for the metrics server's HTTPS, which
 * the API server verifies against the APIService's caBundle under the name <service>.<namespace>.svc.
 */
export async function startKeda(
  cluster: LocalCluster,
  log: (line: string) => void = () => {},
): Promise<void> {
  const { 'keda-operator': operator, 'keda-adapter': adapter } = await ensureKeda(log);
  const certDir = join(cluster.dir, 'keda-certs');
  const ca = await createCa(certDir, 'keda-ca');
  // KEDA reads ca.crt, tls.crt and tls.key from its certificate directory.
  await copyFile(ca.cert, join(certDir, 'ca.crt'));
  await issueCert(ca, certDir, 'tls', {
    commonName: 'keda',
    dns: [`${METRICS_SERVICE}.${KEDA_NAMESPACE}.svc`, `keda-operator.${KEDA_NAMESPACE}.svc`, 'localhost'],
    ips: ['127.0.0.1'],
  });
  await cluster.kubectl(['create', 'namespace', KEDA_NAMESPACE]);
  const crds = await goModuleDir(KEDA_MODULE, KEDA_VERSION, KEDA_OPERATOR_CRDS);
  for (const file of KEDA_OPERATOR_CRDS)
    await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(crds, file)]);
  await cluster.kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);

  const env = {
    KUBECONFIG: cluster.kubeconfig,
    POD_NAMESPACE: KEDA_NAMESPACE,
    KEDA_CLUSTER_OBJECT_NAMESPACE: KEDA_NAMESPACE,
    WATCH_NAMESPACE: '',
  };
  const grpc = await freePort();
  const operatorHealth = await freePort();
  cluster.startProcess(
    'keda-operator',
    operator!,
    [
      `--metrics-bind-address=127.0.0.1:${await freePort()}`,
      `--health-probe-bind-address=127.0.0.1:${operatorHealth}`,
      `--metrics-service-bind-address=127.0.0.1:${grpc}`,
      `--cert-dir=${certDir}`,
      '--leader-elect=false',
      '--zap-log-level=info',
    ],
    env,
  );
  await cluster.waitFor(
    'keda-operator',
    async () => (await fetch(`http://127.0.0.1:${operatorHealth}/readyz`)).ok,
    120_000,
  );

  const secure = await freePort();
  cluster.startProcess(
    'keda-adapter',
    adapter!,
    [
      '--bind-address=127.0.0.1',
      `--secure-port=${secure}`,
      `--cert-dir=${certDir}`,
      `--tls-cert-file=${join(certDir, 'tls.crt')}`,
      `--tls-private-key-file=${join(certDir, 'tls.key')}`,
      `--lister-kubeconfig=${cluster.kubeconfig}`,
      `--authentication-kubeconfig=${cluster.kubeconfig}`,
      `--authorization-kubeconfig=${cluster.kubeconfig}`,
      `--metrics-service-address=127.0.0.1:${grpc}`,
      `--port=${await freePort()}`,
      '--zap-log-level=info',
    ],
    env,
  );

  // The API server reaches the metrics server through a Service: an ExternalName one pointing at loopback,
  // since nothing here routes cluster IPs.
  const caBundle = (await readFile(ca.cert)).toString('base64');
  await cluster.kubectl(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: METRICS_SERVICE, namespace: KEDA_NAMESPACE },
          spec: { type: 'ExternalName', externalName: 'localhost' },
        },
        {
          apiVersion: 'apiregistration.k8s.io/v1',
          kind: 'APIService',
          metadata: { name: 'v1beta1.external.metrics.k8s.io' },
          spec: {
            group: 'external.metrics.k8s.io',
            version: 'v1beta1',
            service: { name: METRICS_SERVICE, namespace: KEDA_NAMESPACE, port: secure },
            caBundle,
            groupPriorityMinimum: 100,
            versionPriority: 100,
          },
        },
      ],
    }),
  );
  await cluster.waitFor(
    'keda-adapter',
    async () => {
      const { stdout } = await cluster.kubectl([
        'get',
        'apiservice',
        'v1beta1.external.metrics.k8s.io',
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Available")].status}',
      ]);
      return stdout === 'True';
    },
    120_000,
  );
  log('keda operator and metrics API server ready');
}
