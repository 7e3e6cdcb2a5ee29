import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { freePort } from '../lib/stack.ts';
import { createCa, issueCert } from './certs.ts';
import { ensureKubestack, kubectlBin } from './kubestack.ts';
import type { Manifest } from './manifests.ts';
import { helmBin } from './tools.ts';
import { stringifyYaml } from './yaml.ts';

const run = promisify(execFile);
const HOST = '127.0.0.1';

export interface CommandOutput {
  stdout: string;
  stderr: string;
}

/**
 * A real Kubernetes control plane on 127.0.0.1 for tests: etcd, kube-apiserver, kube-controller-manager and
 * kube-scheduler, with kwok playing the kubelets of fake nodes (their pods become Running without containers).
 * Everything runs from one cached binary (scripts/cluster/kubestack) in a temporary directory.
 */
export class LocalCluster {
  readonly dir: string;
  readonly kubeconfig: string;
  readonly server: string;
  private readonly processes: { name: string; child: ChildProcess }[] = [];
  private readonly bin: string;
  private stopping = false;

  private constructor(dir: string, bin: string, server: string) {
    this.dir = dir;
    this.bin = bin;
    this.server = server;
    this.kubeconfig = join(dir, 'kubeconfig');
  }

  static async start(log: (line: string) => void = () => {}): Promise<LocalCluster> {
    const bin = await ensureKubestack(log);
    const dir = await mkdtemp(join(tmpdir(), 'ffleet-cluster-'));
    const taken = new Set<number>();
    const port = async (): Promise<number> => {
      for (;;) {
        const candidate = await freePort();
        if (!taken.has(candidate)) {
          taken.add(candidate);
          return candidate;
        }
      }
    };
    const ports = {
      etcdClient: await port(),
      etcdPeer: await port(),
      apiserver: await port(),
      controllerManager: await port(),
      scheduler: await port(),
      kwok: await port(),
    };
    const cluster = new LocalCluster(dir, bin, `https://${HOST}:${ports.apiserver}`);
    try {
      await cluster.boot(ports, log);
    } catch (error) {
      await cluster.stop({ keepDir: true });
      throw new Error(`${(error as Error).message}\n${await cluster.logTails()}`);
    }
    return cluster;
  }

  private async boot(
    ports: Record<
      'etcdClient' | 'etcdPeer' | 'apiserver' | 'controllerManager' | 'scheduler' | 'kwok',
      number
    >,
    log: (line: string) => void,
  ): Promise<void> {
    const { dir } = this;
    const token = randomBytes(24).toString('hex');
    await writeFile(join(dir, 'tokens.csv'), `${token},admin,admin,system:masters\n`);
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(join(dir, 'sa.key'), keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await writeFile(join(dir, 'sa.pub'), keys.publicKey.export({ type: 'spki', format: 'pem' }));
    // The aggregation layer: the API server proxies API groups served elsewhere (KEDA's external metrics) with
    // this client certificate, and the extension server trusts the user headers of requests signed by its CA.
    const frontProxyCa = await createCa(join(dir, 'pki'), 'front-proxy-ca');
    const frontProxyClient = await issueCert(frontProxyCa, join(dir, 'pki'), 'front-proxy-client', {
      commonName: 'front-proxy-client',
    });
    // The API server's serving certificate is self-signed (in --cert-dir); clients on loopback skip verifying it.
    await writeFile(
      this.kubeconfig,
      stringifyYaml({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'local', cluster: { server: this.server, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'admin', user: { token } }],
        contexts: [{ name: 'local', context: { cluster: 'local', user: 'admin' } }],
        'current-context': 'local',
      }),
    );

    const etcdUrl = `http://${HOST}:${ports.etcdClient}`;
    const peerUrl = `http://${HOST}:${ports.etcdPeer}`;
    this.startProcess('etcd', this.bin, [
      'etcd',
      `--data-dir=${join(dir, 'etcd')}`,
      '--name=local',
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=local=${peerUrl}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    await this.waitFor('etcd', async () => (await fetch(`${etcdUrl}/health`)).ok);

    this.startProcess('kube-apiserver', this.bin, [
      'apiserver',
      `--etcd-servers=${etcdUrl}`,
      `--bind-address=${HOST}`,
      `--advertise-address=${HOST}`,
      `--secure-port=${ports.apiserver}`,
      `--cert-dir=${join(dir, 'pki')}`,
      `--token-auth-file=${join(dir, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      // Cluster IPs are only allocated, never routed: nothing here sends traffic to them.
      '--service-cluster-ip-range=10.96.0.0/16',
      `--service-account-key-file=${join(dir, 'sa.pub')}`,
      `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      // A loopback address may not be published as the `kubernetes` Service's endpoint.
      '--endpoint-reconciler-type=none',
      `--requestheader-client-ca-file=${frontProxyCa.cert}`,
      '--requestheader-allowed-names=front-proxy-client',
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      `--proxy-client-cert-file=${frontProxyClient.cert}`,
      `--proxy-client-key-file=${frontProxyClient.key}`,
      '--v=1',
    ]);
    await this.waitFor(
      'kube-apiserver',
      async () => (await this.kubectl(['get', '--raw', '/readyz'])).stdout === 'ok',
    );

    this.startProcess('kube-controller-manager', this.bin, [
      'controller-manager',
      `--kubeconfig=${this.kubeconfig}`,
      `--bind-address=${HOST}`,
      `--secure-port=${ports.controllerManager}`,
      '--leader-elect=false',
      `--service-account-private-key-file=${join(dir, 'sa.key')}`,
      '--use-service-account-credentials=false',
      // Fake nodes never reach the network: no pod CIDRs or cloud routes to manage.
      '--allocate-node-cidrs=false',
      // The HPA controller reads KEDA's metrics every 5 s instead of 15 s, so autoscaling tests wait less.
      '--horizontal-pod-autoscaler-sync-period=5s',
      '--v=1',
    ]);
    this.startProcess('kube-scheduler', this.bin, [
      'scheduler',
      `--kubeconfig=${this.kubeconfig}`,
      `--bind-address=${HOST}`,
      `--secure-port=${ports.scheduler}`,
      '--leader-elect=false',
      '--v=1',
    ]);
    this.startProcess('kwok', this.bin, [
      'kwok',
      `--kubeconfig=${this.kubeconfig}`,
      '--manage-all-nodes=false',
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      '--cidr=10.0.0.1/16',
      `--node-ip=${HOST}`,
      `--server-address=${HOST}:${ports.kwok}`,
      '--node-lease-duration-seconds=40',
    ]);
    // The default namespace exists once the controllers run; service accounts need the token controller.
    await this.waitFor('kube-controller-manager', async () => {
      const { stdout } = await this.kubectl([
        'get',
        'serviceaccount',
        'default',
        '-n',
        'default',
        '-o',
        'name',
      ]);
      return stdout.trim() === 'serviceaccount/default';
    });
    log(`cluster ready at ${this.server} (kubeconfig ${this.kubeconfig})`);
  }

  /**
   * Runs another program beside the control plane (a controller such as KEDA or Karpenter): its output goes to
   * `<name>.log` in the cluster directory, it shows in `logTails()`, and `stop()` ends it before the control
   * plane.
   */
  startProcess(name: string, file: string, args: string[], env: Record<string, string> = {}): ChildProcess {
    const out = createWriteStream(join(this.dir, `${name}.log`));
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    child.on('exit', (code, signal) => {
      if (!this.stopping) out.write(`\n[${name} exited: code ${code} signal ${signal}]\n`);
    });
    this.processes.push({ name, child });
    return child;
  }

  /** Polls `ready` until it holds; fails early if the process started as `name` exits. */
  async waitFor(name: string, ready: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const proc = this.processes.find((p) => p.name === name);
      if (proc && proc.child.exitCode !== null) {
        const log = await readFile(join(this.dir, `${name}.log`), 'utf8').catch(() => '');
        throw new Error(
          `${name} exited with code ${proc.child.exitCode}:\n${log.trimEnd().split('\n').slice(-20).join('\n')}`,
        );
      }
      if (await ready().catch(() => false)) return;
      await sleep(250);
    }
    throw new Error(`${name} not ready after ${timeoutMs / 1000} s`);
  }

  /** The kubectl built with the control plane (any kubectl of a close version works too). */
  readonly kubectlPath = kubectlBin;

  /** Runs kubectl against this cluster; rejects with kubectl's stderr on failure. */
  async kubectl(args: string[], input?: string): Promise<CommandOutput> {
    return await runWithInput(kubectlBin, ['--kubeconfig', this.kubeconfig, ...args], input);
  }

  /** The objects `kubectl get <args>` finds (as JSON). */
  async list<T = Manifest>(...args: string[]): Promise<T[]> {
    return (JSON.parse((await this.kubectl(['get', ...args, '-o', 'json'])).stdout) as { items: T[] }).items;
  }

  /** Runs the pinned helm against this cluster; rejects with helm's stderr on failure. */
  async helm(args: string[]): Promise<string> {
    try {
      return (await runWithInput(await helmBin(), [...args, '--kubeconfig', this.kubeconfig])).stdout;
    } catch (error) {
      throw new Error(`helm ${args[0]} failed: ${(error as { stderr?: string }).stderr ?? error}`);
    }
  }

  /** Polls until `check` returns a value (not undefined), or throws with the last observation. */
  async eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        const value = await check();
        if (value !== undefined) return value;
      } catch (error) {
        last = error;
      }
      await sleep(250);
    }
    throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
  }

  /** The last lines of each component's log, for failure messages. */
  async logTails(lines = 15): Promise<string> {
    const parts: string[] = [];
    for (const { name } of this.processes) {
      const file = join(this.dir, `${name}.log`);
      if (!existsSync(file)) continue;
      const text = (await readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
      parts.push(`--- ${name} ---\n${text}`);
    }
    return parts.join('\n');
  }

  async stop(options: { keepDir?: boolean } = {}): Promise<void> {
    this.stopping = true;
    // Reverse order: kwok and the controllers before the API server, etcd last.
    for (const { child } of [...this.processes].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    if (!options.keepDir) await rm(this.dir, { recursive: true, force: true });
  }
}

async function runWithInput(file: string, args: string[], input?: string): Promise<CommandOutput> {
  if (input === undefined) {
    const { stdout, stderr } = await run(file, args, { maxBuffer: 64 * 1024 * 1024 });
    return { stdout, stderr };
  }
  return await new Promise((resolve, reject) => {
    const child = execFile(file, args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stdout, stderr }));
      else resolve({ stdout, stderr });
    });
    child.stdin?.end(input);
  });
}
