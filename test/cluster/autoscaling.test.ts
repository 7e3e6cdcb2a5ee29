import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobView } from '@ffleet/gateway';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../scripts/cluster/cluster.ts';
import { startKarpenter, withKwokNodeClass } from '../../scripts/cluster/karpenter.ts';
import { startKeda } from '../../scripts/cluster/keda.ts';
import { karpenterManifests, manifestFiles } from '../../scripts/cluster/manifests.ts';
import { createSystemNodes, SYSTEM_LABELS } from '../../scripts/cluster/provision.ts';
import { chartDir, type K8sObject } from '../chart/support/chart.ts';
import { finished, startFleet, type TestFleet, type WorkerProcess } from '../support/fleet.ts';
import { makeSampleClip, probe } from '../support/media.ts';
import { workerPods as supportWorkerPods } from './support.ts';

// The real KEDA (operator and metrics API server) and Karpenter (core with its kwok provider) on the local control
// plane, with the chart's own ScaledObjects and the project's NodePools (only their node class swapped for the
// kwok one). Jobs are queued through the gateway on a real Redis; KEDA reads that Redis. Worker pods run on kwok
// nodes without containers, so where a test needs a worker to do the work, a real worker process started with
// the pod's own settings stands in for it, and gets SIGTERM when its pod is deleted, as the kubelet would send.

const NAMESPACE = 'ffleet';
const RELEASE = 'ffleet';
const POOLS = ['intel', 'amd', 'arm', 'nvidia', 'xilinx'] as const;
type PoolName = (typeof POOLS)[number];
/** Short KEDA timings, so the test waits seconds where a cluster would wait minutes. */
const COOLDOWN_SECONDS = 10;
const FAMILY: Record<PoolName, { family: string; arch: string; taint?: string }> = {
  intel: { family: 'c6i', arch: 'amd64' },
  amd: { family: 'm6a', arch: 'amd64' },
  arm: { family: 'c7g', arch: 'arm64' },
  nvidia: { family: 'g4dn', arch: 'amd64', taint: 'nvidia.com/gpu' },
  xilinx: { family: 'vt1', arch: 'amd64', taint: 'amd.com/ama_u30' },
};
/** Media seconds of the sample clip; jobs read it at its native rate (-readrate 1), so they run this long. */
const CLIP_SECONDS = 45;

describe('autoscaling with the real KEDA and Karpenter controllers', () => {
  let cluster: LocalCluster;
  let fleet: TestFleet;
  let redis: Redis;
  let recorder: ScaleRecorder;
  let prefix: string;
  /** Jobs queued per pool and not yet done with. */
  const ids: Record<PoolName, string[]> = { intel: [], amd: [], arm: [], nvidia: [], xilinx: [] };
  const kubectl = (...args: string[]) => cluster.kubectl(args);
  const list = (...args: string[]) => cluster.list<K8sObject>(...args);
  const workerPods = (pool: PoolName) => supportWorkerPods(cluster, NAMESPACE, pool);
  const replicas = async (pool: PoolName) =>
    Number(
      (
        await kubectl(
          'get',
          'deployment',
          `${RELEASE}-worker-${pool}`,
          '-n',
          NAMESPACE,
          '-o',
          'jsonpath={.spec.replicas}',
        )
      ).stdout || 0,
    );
  const scaledTo = (pool: PoolName, count: number, timeoutMs = 90_000) =>
    cluster.eventually(
      `${pool} scaled to ${count}`,
      async () => ((await replicas(pool)) === count ? true : undefined),
      timeoutMs,
    );
  /** The pool's worker pods once `count` of them run on nodes, with those nodes. */
  const running = (pool: PoolName, count: number, timeoutMs = 120_000) =>
    cluster.eventually(
      `${count} running ${pool} workers`,
      async () => {
        const pods = await workerPods(pool);
        const placed = pods.filter((p) => p.status.phase === 'Running' && p.spec.nodeName);
        if (pods.length !== count || placed.length !== count) return undefined;
        const nodes = new Map((await list('nodes')).map((n) => [n.metadata.name, n]));
        return placed.map((pod) => ({ pod, node: nodes.get(pod.spec.nodeName)! }));
      },
      timeoutMs,
    );
  const runningOne = async (pool: PoolName) => (await running(pool, 1))[0]!;
  const queueKey = (pool: PoolName, key: string) => `${prefix}:ffleet-${pool}:${key}`;
  /** Where the pool's jobs are in Redis: the four sets KEDA's triggers count. */
  const depth = async (pool: PoolName) => ({
    wait: await redis.llen(queueKey(pool, 'wait')),
    prioritized: await redis.zcard(queueKey(pool, 'prioritized')),
    delayed: await redis.zcard(queueKey(pool, 'delayed')),
    active: await redis.llen(queueKey(pool, 'active')),
  });
  const submit = async (pool: PoolName, name: string, options: { input?: string; encode?: string } = {}) => {
    const { status, body } = await fleet.api<{ id: string }>('POST', '/v1/jobs', {
      name,
      compute: pool,
      quality: false,
      inputs: [{ url: `s3://${fleet.bucket}/inputs/clip.mp4`, options: options.input ?? '' }],
      outputs: [
        {
          url: `s3://${fleet.bucket}/out/${name}.mp4`,
          options: options.encode ?? '-c:v libx264 -preset ultrafast -threads 1 -c:a aac',
        },
      ],
    });
    expect(status).toBe(202);
    return body.id;
  };
  const cancel = async (id: string) => expect((await fleet.api('DELETE', `/v1/jobs/${id}`)).status).toBe(202);
  const job = async (id: string) => (await fleet.api<JobView>('GET', `/v1/jobs/${id}`)).body;

  /**
   * A real worker process standing in for a worker pod: the pod's own settings (pool, concurrency, shutdown
   * grace, queue prefix, the chart's pool registry); only its connections (Redis, S3, scratch) are the local ones.
   */
  const standIn = async (pod: K8sObject): Promise<WorkerProcess> => {
    const env = Object.fromEntries(
      (pod.spec.containers[0].env as { name: string; value?: string }[])
        .filter((e) => e.value !== undefined)
        .map((e) => [e.name, e.value!]),
    );
    const registry = join(fleet.dir, `pools-${pod.metadata.name}.yaml`);
    const configMap = JSON.parse(
      (await kubectl('get', 'configmap', `${RELEASE}-pools`, '-n', NAMESPACE, '-o', 'json')).stdout,
    ) as K8sObject;
    await writeFile(registry, configMap.data['pools.yaml']);
    const local = {
      FFLEET_POOLS_FILE: registry,
      FFLEET_WORKER_PORT: '0',
      LOG_LEVEL: 'info',
      ...Object.fromEntries(Object.entries(fleet.env).filter(([k]) => /^(REDIS_URL|S3_|AWS_)/.test(k))),
    };
    delete env.FFLEET_WORK_DIR;
    return await fleet.startWorker(env.POOL!, { ...env, ...local });
  };

  beforeAll(async () => {
    const log = (line: string) => console.log(`[cluster] ${line}`);
    fleet = await startFleet();
    prefix = fleet.env.FFLEET_QUEUE_PREFIX!;
    redis = new Redis(fleet.stack.redisUrl);
    const clip = join(fleet.dir, 'clip.mp4');
    await makeSampleClip(clip, { seconds: CLIP_SECONDS, size: '320x240', rate: 10 });
    await fleet.put('inputs/clip.mp4', clip);

    cluster = await LocalCluster.start(log);
    // The gateway's and Redis's node in a real cluster; Karpenter launches every pool node itself.
    await createSystemNodes(cluster);
    await startKeda(cluster, log);
    await startKarpenter(cluster, log);

    const redisPort = new URL(fleet.stack.redisUrl).port;
    const values = {
      fleet: { queuePrefix: prefix, allowedBuckets: [fleet.bucket] },
      redis: { mode: 'external', external: { url: fleet.stack.redisUrl } },
      telemetry: { otlpEndpoint: '' },
      gateway: { nodeSelector: SYSTEM_LABELS },
      autoscaling: {
        enabled: true,
        pollingInterval: 1,
        cooldownPeriod: COOLDOWN_SECONDS,
        scaleDownStabilizationSeconds: 0,
        redisAddress: `127.0.0.1:${redisPort}`,
      },
      // A worker told to stop hands its running job back after one second.
      workers: { shutdownGraceSeconds: 1 },
      pools: Object.fromEntries(POOLS.map((p) => [p, { enabled: true, autoscaling: { minReplicas: 0 } }])),
    };
    const valuesFile = join(cluster.dir, 'values.json');
    await writeFile(valuesFile, JSON.stringify(values));
    await cluster.helm([
      'install',
      RELEASE,
      chartDir,
      '--namespace',
      NAMESPACE,
      '--create-namespace',
      '--values',
      valuesFile,
      '--wait',
      '--timeout',
      '3m',
    ]);
    // A new Deployment starts with one replica until KEDA takes it to zero; only then do the NodePools come, so
    // Karpenter launches nodes for the tests' jobs alone.
    for (const pool of POOLS) await scaledTo(pool, 0);
    await cluster.eventually('no worker pods', async () =>
      (await list('pods', '-n', NAMESPACE, '-l', 'app.kubernetes.io/component=worker')).length === 0
        ? true
        : undefined,
    );
    const nodePools = karpenterManifests()
      .filter((m) => m.kind === 'NodePool')
      .map(withKwokNodeClass);
    await cluster.kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: nodePools }),
    );
    recorder = new ScaleRecorder(cluster);
    recorder.start();
  }, 3_600_000);

  afterAll(async () => {
    await recorder?.stop();
    if (recorder) console.log(recorder.report());
    redis?.disconnect();
    await fleet?.stop();
    await cluster?.stop();
  }, 120_000);

  it('keeps every pool at zero with no jobs, and Karpenter launches nothing', async () => {
    for (const pool of POOLS) {
      await cluster.eventually(`ScaledObject of ${pool} ready`, async () => {
        const { stdout } = await kubectl(
          'get',
          'scaledobject',
          `${RELEASE}-worker-${pool}`,
          '-n',
          NAMESPACE,
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        );
        return stdout === 'True' ? true : undefined;
      });
      expect(await replicas(pool)).toBe(0);
    }
    // KEDA made an HPA per pool, fed by the external metrics API through the aggregation layer.
    const hpas = (await list('hpa', '-n', NAMESPACE)).map((h) => h.metadata.name).sort();
    expect(hpas).toEqual(POOLS.map((p) => `keda-hpa-${RELEASE}-worker-${p}`).sort());
    const { stdout } = await kubectl('get', '--raw', `/apis/external.metrics.k8s.io/v1beta1`);
    expect(JSON.parse(stdout).groupVersion).toBe('external.metrics.k8s.io/v1beta1');
    expect(await list('nodeclaims')).toEqual([]);
  });

  it('one queued nvidia job: the worker goes 0 → 1, Karpenter launches a Spot g4dn node and the worker runs there', async () => {
    const first = await submit('nvidia', 'nvidia-0');
    // The gateway queues every job with a priority: it waits in the prioritized set, not the wait list.
    expect(await depth('nvidia')).toEqual({ wait: 0, prioritized: 1, delayed: 0, active: 0 });
    await scaledTo('nvidia', 1);
    const { node } = await runningOne('nvidia');
    expectPoolNode(node, 'nvidia');
    ids.nvidia.push(first);
  });

  it('five prioritized nvidia jobs: the pool grows to ceil(5 / concurrency 2) = 3 workers, each on a g4dn Spot node', async () => {
    // Queued together, so the HPA sees all five at once.
    ids.nvidia.push(...(await Promise.all([1, 2, 3, 4].map((i) => submit('nvidia', `nvidia-${i}`)))));
    expect(await depth('nvidia')).toEqual({ wait: 0, prioritized: 5, delayed: 0, active: 0 });
    await scaledTo('nvidia', 3);
    for (const { node } of await running('nvidia', 3)) expectPoolNode(node, 'nvidia');
  });

  it('with its jobs gone, the nvidia pool goes back to zero after the cooldown', async () => {
    for (const id of ids.nvidia.splice(0)) await cancel(id);
    expect(await depth('nvidia')).toEqual({ wait: 0, prioritized: 0, delayed: 0, active: 0 });
    await scaledTo('nvidia', 0, 60_000 + COOLDOWN_SECONDS * 1000);
    expectRiseAndFall(await recorder.replicas('nvidia'), 3);
  });

  it('a pending xilinx worker gets no node while Karpenter knows no U30 capacity, and a vt1 node with the NodeOverlay', async () => {
    const id = await submit('xilinx', 'xilinx-0');
    await scaledTo('xilinx', 1);
    const pending = await cluster.eventually(
      'the xilinx worker pod',
      async () => (await workerPods('xilinx'))[0],
    );
    // Karpenter's AWS provider knows no amd.com/ama_u30, and neither does this provider's vt1: no type fits.
    const refusal = await cluster.eventually(
      'Karpenter giving up on the xilinx worker',
      async () => {
        const events = await list(
          'events',
          '-n',
          NAMESPACE,
          '--field-selector',
          `involvedObject.name=${pending.metadata.name}`,
        );
        return events.find((e) => String(e.message).startsWith('Failed to schedule pod'));
      },
      90_000,
    );
    expect(refusal.message).toContain('amd.com/ama_u30');
    expect(await list('nodeclaims', '-l', 'karpenter.sh/nodepool=ffleet-xilinx')).toEqual([]);

    await kubectl('apply', '-f', manifestFiles('k8s/karpenter').find((f) => f.includes('nodeoverlays'))!);
    const { node } = await runningOne('xilinx');
    expectPoolNode(node, 'xilinx');
    expect(node.metadata.labels['node.kubernetes.io/instance-type']).toBe('vt1.3xlarge');
    expect(node.status.allocatable['amd.com/ama_u30']).toBe('1');
    await cancel(id);
    await scaledTo('xilinx', 0, 60_000);
    expectRiseAndFall(await recorder.replicas('xilinx'), 1);
  });

  it('a job waiting only for its retry back-off wakes a pool at zero, whose worker then finishes it', async () => {
    // Hold the pool at zero while a worker that cannot reach S3 fails the job's first attempt.
    const scaledObject = `scaledobject/${RELEASE}-worker-amd`;
    await kubectl('annotate', scaledObject, '-n', NAMESPACE, 'autoscaling.keda.sh/paused=true');
    await cluster.eventually('amd autoscaling paused', async () => {
      const { stdout } = await kubectl(
        'get',
        scaledObject,
        '-n',
        NAMESPACE,
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Paused")].status}',
      );
      return stdout === 'True' ? true : undefined;
    });
    const id = await submit('amd', 'amd-retried');
    const cutOff = await fleet.startWorker('amd', {
      S3_ENDPOINT: 'http://127.0.0.1:9',
      FFLEET_UPLOAD_RETRY_SECONDS: '1',
      LOG_LEVEL: 'info',
    });
    await fleet.waitFor<JobView>(id, (j) => j.attempts.made >= 1, 60_000);
    cutOff.child.kill('SIGTERM');
    expect(await cutOff.exited).toBe(0);
    const retrying = await job(id);
    expect(retrying.state).toBe('queued');
    expect(retrying.attempts.made).toBeLessThan(retrying.attempts.max);
    expect(await depth('amd')).toEqual({ wait: 0, prioritized: 0, delayed: 1, active: 0 });
    expect(await replicas('amd')).toBe(0);

    await kubectl('annotate', scaledObject, '-n', NAMESPACE, 'autoscaling.keda.sh/paused-');
    await scaledTo('amd', 1);
    const { pod, node } = await runningOne('amd');
    expectPoolNode(node, 'amd');
    const worker = await standIn(pod);
    const done = await fleet.waitFor<JobView>(id, finished, 180_000);
    expect(done.state).toBe('succeeded');
    expect(done.attempts.made).toBe(retrying.attempts.made + 1);
    await expectClip(`out/amd-retried.mp4`);
    await scaledTo('amd', 0, 60_000);
    worker.child.kill('SIGTERM');
    await worker.exited;
    expectRiseAndFall(await recorder.replicas('amd'), 1);
  });

  it('Karpenter drifts a busy worker node: the pod is evicted, SIGTERM hands the job back, it completes on the replacement node', async () => {
    const id = await submit('intel', 'intel-drifted', { input: '-readrate 1' });
    await scaledTo('intel', 1);
    const { pod: first, node: oldNode } = await runningOne('intel');
    expectPoolNode(oldNode, 'intel');
    const busy = await standIn(first);
    await fleet.waitFor<JobView>(id, (j) => j.state === 'running' && j.progress?.stage === 'ffmpeg', 60_000);

    // The kubelet's part: SIGTERM to the worker when its pod is deleted (here: evicted by Karpenter's drain).
    const evicted = watchDeletion(cluster, first.metadata.name).then(() => busy.child.kill('SIGTERM'));
    // Changing the NodePool's template drifts its nodes, as a new AMI would.
    await kubectl(
      'patch',
      'nodepool',
      'ffleet-intel',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { template: { metadata: { annotations: { 'ffleet.io/rollout': '2' } } } } }),
    );
    await evicted;
    expect(await busy.exited).toBe(0);
    expect(busy.output()).toContain('job handed back to the queue on shutdown');
    const back = await job(id);
    expect(back.state).toBe('queued');
    expect(back.attempts.made).toBe(0);
    expect(await disruptions(oldNode.metadata.name)).toEqual(['Disrupting Node: Drifted']);

    const { pod: second, node: newNode } = await runningOne('intel');
    expect(newNode.metadata.name).not.toBe(oldNode.metadata.name);
    expectPoolNode(newNode, 'intel');
    const rescuer = await standIn(second);
    const done = await fleet.waitFor<JobView>(id, finished, 180_000);
    expect(done.state).toBe('succeeded');
    expect(done.attempts.made).toBe(1);
    expect(rescuer.output()).toContain('job completed');
    await expectClip('out/intel-drifted.mp4');
    await cluster.eventually('the drifted node gone', async () =>
      (await list('nodes')).some((n) => n.metadata.name === oldNode.metadata.name) ? undefined : true,
    );
    await scaledTo('intel', 0, 60_000);
    // One worker all along: the job's demand kept the pool at 1 while its node was replaced.
    expectRiseAndFall(await recorder.replicas('intel'), 1);
    rescuer.child.kill('SIGTERM');
    await rescuer.exited;
  });

  it('one queued arm job gets a Graviton (c7g, arm64) Spot node', async () => {
    const id = await submit('arm', 'arm-0');
    await scaledTo('arm', 1);
    const { node } = await runningOne('arm');
    expectPoolNode(node, 'arm');
    await cancel(id);
    await scaledTo('arm', 0, 60_000);
    expectRiseAndFall(await recorder.replicas('arm'), 1);
  });

  it('removes every node it launched once its pool is idle (consolidation of empty nodes)', async () => {
    await cluster.eventually(
      'no Karpenter nodes left',
      async () => {
        const left = (await list('nodes')).filter((n) => n.metadata.labels['karpenter.sh/nodepool']);
        return left.length === 0 ? true : undefined;
      },
      8 * 60_000,
    );
    expect(await list('nodeclaims')).toEqual([]);
    // Every pool got its own nodes for its workers and lost them again: emptied, or replaced for drift.
    for (const pool of POOLS) {
      const launched = recorder.nodes().filter((n) => n.pool === pool);
      expect(launched.length, pool).toBeGreaterThan(0);
      for (const node of launched) {
        expect(node.goneAt, `${node.name} removed`).toBeDefined();
        node.removedFor = (await disruptions(node.name)).join(', ');
        expect(['Disrupting Node: Empty', 'Disrupting Node: Drifted'], node.name).toContain(node.removedFor);
      }
    }
  }, 600_000);

  /** Why Karpenter took a node away, from its events: "Disrupting Node: Empty", "...: Drifted". */
  async function disruptions(node: string): Promise<string[]> {
    const events = await list(
      'events',
      '-A',
      '--field-selector',
      `involvedObject.kind=Node,involvedObject.name=${node},reason=DisruptionTerminating`,
    );
    return [...new Set(events.map((e) => String(e.message)))];
  }

  /** A Karpenter node of the pool's NodePool: its instance family and arch, Spot, its taint, a zone. */
  function expectPoolNode(node: K8sObject, pool: PoolName) {
    const { family, arch, taint } = FAMILY[pool];
    const labels = node.metadata.labels as Record<string, string>;
    expect(labels['karpenter.sh/nodepool']).toBe(`ffleet-${pool}`);
    expect(labels['ffleet.io/pool']).toBe(pool);
    expect(labels['karpenter.sh/capacity-type']).toBe('spot');
    expect(labels['karpenter.k8s.aws/instance-family']).toBe(family);
    expect(labels['node.kubernetes.io/instance-type']).toMatch(new RegExp(`^${family}\\.`));
    expect(labels['kubernetes.io/arch']).toBe(arch);
    expect(labels['topology.kubernetes.io/zone']).toMatch(/^us-east-1[abc]$/);
    const taints = ((node.spec.taints ?? []) as { key: string; effect: string }[]).filter(
      (t) => !t.key.startsWith('karpenter.sh/'),
    );
    expect(taints).toEqual(taint ? [{ key: taint, effect: 'NoSchedule' }] : []);
  }

  /** The job's output is the whole clip, re-encoded: its duration, H.264 video and AAC audio, by ffprobe. */
  async function expectClip(key: string) {
    const file = join(fleet.dir, key.replaceAll('/', '-'));
    await writeFile(file, await fleet.get(key));
    const media = await probe(file);
    expect(media.duration).toBeGreaterThan(CLIP_SECONDS - 0.5);
    expect(media.duration).toBeLessThan(CLIP_SECONDS + 0.5);
    expect(media.streams.map((s) => s.codec_name).sort()).toEqual(['aac', 'h264']);
  }
});

/** Replica counts that start at 0, climb to `peak` (not beyond), and come back down to 0 without rising again. */
function expectRiseAndFall(sequence: number[], peak: number) {
  const top = sequence.indexOf(peak);
  expect(sequence.slice(0, 2), sequence.join(' → ')).toEqual([0, 1]);
  expect(Math.max(...sequence), sequence.join(' → ')).toBe(peak);
  expect(sequence.at(-1), sequence.join(' → ')).toBe(0);
  for (let i = 1; i <= top; i++) expect(sequence[i]!, sequence.join(' → ')).toBeGreaterThan(sequence[i - 1]!);
  for (let i = top + 1; i < sequence.length; i++)
    expect(sequence[i]!, sequence.join(' → ')).toBeLessThan(sequence[i - 1]!);
}

/** Resolves when the pod is being deleted or gone. */
async function watchDeletion(cluster: LocalCluster, pod: string): Promise<void> {
  for (;;) {
    const { stdout } = await cluster.kubectl([
      'get',
      'pod',
      pod,
      '-n',
      NAMESPACE,
      '--ignore-not-found',
      '-o',
      'jsonpath={.metadata.name} {.metadata.deletionTimestamp}',
    ]);
    const [name, deleting] = stdout.trim().split(' ');
    if (!name || deleting) return;
    await sleep(200);
  }
}

interface LaunchedNode {
  name: string;
  pool: string;
  nodePool: string;
  instanceType: string;
  capacityType: string;
  zone: string;
  seenAt: number;
  goneAt?: number;
  /** Karpenter's reason for removing it, filled in by the last test. */
  removedFor?: string;
}

/**
 * Watches the cluster in the background: each pool Deployment's replica count as it changes, and the nodes
 * Karpenter launches and removes. Printed at the end as the sequences the tests observed.
 */
class ScaleRecorder {
  readonly #cluster: LocalCluster;
  readonly #started = Date.now();
  readonly #replicas = new Map<string, { at: number; count: number }[]>();
  readonly #nodes = new Map<string, LaunchedNode>();
  #running?: Promise<void>;
  #stopping = false;
  #observations = 0;

  constructor(cluster: LocalCluster) {
    this.#cluster = cluster;
  }

  start(): void {
    this.#running = (async () => {
      while (!this.#stopping) {
        await this.#observe().catch(() => {});
        this.#observations++;
        await sleep(300);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#running;
  }

  /** The pool's replica counts so far, once an observation begun after this call is in. */
  async replicas(pool: string): Promise<number[]> {
    const wanted = this.#observations + 2;
    while (this.#observations < wanted && !this.#stopping) await sleep(100);
    return (this.#replicas.get(pool) ?? []).map((r) => r.count);
  }

  nodes(): LaunchedNode[] {
    return [...this.#nodes.values()];
  }

  report(): string {
    const seconds = (at: number) => `${Math.round((at - this.#started) / 1000)}s`;
    const lines = ['scale sequences observed (replicas, at seconds since install):'];
    for (const [pool, steps] of this.#replicas)
      lines.push(`  ${pool}: ${steps.map((s) => `${s.count}@${seconds(s.at)}`).join(' → ')}`);
    lines.push('nodes Karpenter launched:');
    for (const n of this.#nodes.values())
      lines.push(
        `  ${n.name}: ${n.nodePool} ${n.instanceType} ${n.capacityType} ${n.zone}, up ${seconds(n.seenAt)}, gone ${
          n.goneAt ? seconds(n.goneAt) : 'never'
        }${n.removedFor ? ` (${n.removedFor})` : ''}`,
      );
    return lines.join('\n');
  }

  async #observe(): Promise<void> {
    const now = Date.now();
    const get = (...args: string[]) => this.#cluster.list<K8sObject>(...args);
    for (const deployment of await get(
      'deployments',
      '-n',
      NAMESPACE,
      '-l',
      'app.kubernetes.io/component=worker',
    )) {
      const pool = deployment.metadata.labels['ffleet.io/pool'] as string;
      const steps = this.#replicas.get(pool) ?? [];
      const count = deployment.spec.replicas ?? 0;
      if (steps.at(-1)?.count !== count) steps.push({ at: now, count });
      this.#replicas.set(pool, steps);
    }
    const live = new Set<string>();
    for (const node of await get('nodes', '-l', 'karpenter.sh/nodepool')) {
      const labels = node.metadata.labels as Record<string, string>;
      live.add(node.metadata.name);
      if (!this.#nodes.has(node.metadata.name))
        this.#nodes.set(node.metadata.name, {
          name: node.metadata.name,
          pool: labels['ffleet.io/pool'] ?? '',
          nodePool: labels['karpenter.sh/nodepool'] ?? '',
          instanceType: labels['node.kubernetes.io/instance-type'] ?? '',
          capacityType: labels['karpenter.sh/capacity-type'] ?? '',
          zone: labels['topology.kubernetes.io/zone'] ?? '',
          seenAt: now,
        });
    }
    for (const node of this.#nodes.values()) if (!live.has(node.name) && !node.goneAt) node.goneAt = now;
  }
}
