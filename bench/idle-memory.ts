/**
 * `gateway_idle_rss_mb` and `worker_idle_rss_mb`: resident memory of the fleet's gateway and worker
 * processes at rest after they have served jobs, beside `node_idle_rss_mb`, Node with the same runtime
 * settings running a TypeScript file that loads nothing, so the ratios show what ffleet itself holds.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { steadyRssMb } from '../scripts/lib/process-memory.ts';
import { withServiceRuntime } from '../scripts/lib/service-env.ts';
import { stopChild } from '../scripts/lib/stack.ts';

const IDLE_NODE = new URL('./idle-node.ts', import.meta.url).pathname;
/** Targets the project holds itself to (docs/benchmarks.md). */
export const IDLE_RSS_TARGET_MB = 150;

export async function measureIdleMemory(options: {
  print: (name: string, value: string | number) => void;
  gatewayPid: number;
  workerPid: number;
}): Promise<void> {
  const { print } = options;
  const node = spawn(process.execPath, [IDLE_NODE], { env: withServiceRuntime(process.env), stdio: 'pipe' });
  try {
    await once(node.stdout!, 'data');
    // At rest: V8 trims an idle heap over tens of seconds; after 5 s readings still varied by 15 MiB.
    await sleep(30_000);
    const rss = {
      node: await steadyRssMb(node.pid!),
      gateway: await steadyRssMb(options.gatewayPid),
      worker: await steadyRssMb(options.workerPid),
    };
    const mb = (n: number) => Number(n.toFixed(1));
    print('node_idle_rss_mb', mb(rss.node));
    print('gateway_idle_rss_mb', mb(rss.gateway));
    print('gateway_idle_rss_vs_node', Number((rss.gateway / rss.node).toFixed(2)));
    print('worker_idle_rss_mb', mb(rss.worker));
    print('worker_idle_rss_vs_node', Number((rss.worker / rss.node).toFixed(2)));
    print('idle_rss_target_mb', `<= ${IDLE_RSS_TARGET_MB} each`);
  } finally {
    await stopChild(node);
  }
}

// `node bench/idle-memory.ts`: this part alone, on a fresh fleet of its own (no job run yet).
if (import.meta.main) {
  const { startLocalFleet } = await import('../scripts/lib/local-fleet.ts');
  const fleet = await startLocalFleet({ quiet: true, extraEnv: { FFLEET_QUALITY_DEFAULT: 'false' } });
  try {
    await measureIdleMemory({
      print: (name, value) => process.stdout.write(`${name}: ${value}\n`),
      gatewayPid: fleet.gatewayPid,
      workerPid: fleet.workers[0]!.pid,
    });
  } finally {
    await fleet.stop();
  }
}
