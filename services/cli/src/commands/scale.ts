import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface ScaleOptions {
  namespace: string;
  release: string;
  /** kubectl binary (the CLI passes FFLEET_KUBECTL); default `kubectl` on PATH. */
  kubectl?: string;
}

/**
 * kubectl arguments that scale one pool's worker Deployment, found by the chart's labels (so
 * it works whatever the release is called). Throws on a pool name or count kubectl should
 * never see.
 */
export function scaleArgs(pool: string, replicas: string, opts: ScaleOptions): string[] {
  if (!/^[a-z][a-z0-9-]{0,30}$/.test(pool)) throw new Error(`"${pool}" is not a pool name`);
  if (!/^\d{1,4}$/.test(replicas)) throw new Error(`replicas must be a whole number, got "${replicas}"`);
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(opts.namespace))
    throw new Error(`"${opts.namespace}" is not a namespace`);
  if (!/^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$/.test(opts.release))
    throw new Error(`"${opts.release}" is not a release name`);
  return [
    'scale',
    'deployment',
    '--namespace',
    opts.namespace,
    '--selector',
    `app.kubernetes.io/instance=${opts.release},app.kubernetes.io/component=worker,ffleet.io/pool=${pool}`,
    `--replicas=${replicas}`,
  ];
}

/** Runs kubectl scale; fails when no Deployment of that pool exists in the release. */
export async function scalePool(pool: string, replicas: string, opts: ScaleOptions): Promise<string> {
  const kubectl = opts.kubectl ?? 'kubectl';
  const { stdout } = await exec(kubectl, scaleArgs(pool, replicas, opts));
  if (!stdout.includes('scaled')) {
    throw new Error(
      `no worker Deployment for pool "${pool}" in release "${opts.release}" (namespace ${opts.namespace})`,
    );
  }
  return stdout.trim();
}
