/**
 * `podman run` arguments for a container of a pod spec the chart renders, so the images run under exactly the
 * settings the chart gives them: its user and groups, read-only root file system, dropped capabilities, no
 * privilege escalation, memory limit, environment and volumes (emptyDirs as host directories, ConfigMaps as
 * read-only files). A setting this translation does not know fails loudly rather than being dropped.
 */
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { K8sObject } from '../../chart/support/chart.ts';

export interface PodRun {
  /** Container name (also the pod name its fieldRefs see). */
  name: string;
  image: string;
  /** ConfigMaps the pod mounts, by name: their data. */
  configMaps: Record<string, Record<string, string>>;
  /** Replaces (or, with undefined, removes) environment variables the chart sets. */
  env: Record<string, string | undefined>;
  /** Where the pod's emptyDirs and ConfigMap files are made. */
  workDir: string;
}

const KNOWN_CONTAINER_SECURITY = new Set([
  'allowPrivilegeEscalation',
  'readOnlyRootFilesystem',
  'capabilities',
]);
const KNOWN_POD_SECURITY = new Set(['runAsNonRoot', 'runAsUser', 'runAsGroup', 'fsGroup', 'seccompProfile']);

/** `2560Mi` → `2560m`, `2Gi` → `2g`: podman's units for --memory. */
const memory = (quantity: string): string => {
  const match = /^(\d+)(Ki|Mi|Gi)$/.exec(quantity);
  if (!match) throw new Error(`memory limit ${quantity} is not in Ki, Mi or Gi`);
  return `${match[1]}${match[2]![0]!.toLowerCase()}`;
};

export async function podmanRunArgs(pod: K8sObject['spec'], run: PodRun): Promise<string[]> {
  const container = pod.containers[0];
  const podSecurity = pod.securityContext ?? {};
  const security = container.securityContext ?? {};
  for (const key of Object.keys(podSecurity))
    if (!KNOWN_POD_SECURITY.has(key))
      throw new Error(`pod securityContext.${key} has no podman translation here`);
  for (const key of Object.keys(security))
    if (!KNOWN_CONTAINER_SECURITY.has(key))
      throw new Error(`securityContext.${key} has no podman translation here`);
  if (security.capabilities?.add?.length) throw new Error('capabilities.add has no translation here');
  if (podSecurity.seccompProfile && podSecurity.seccompProfile.type !== 'RuntimeDefault')
    throw new Error('only the RuntimeDefault seccomp profile (podman default) is translated');

  const args = ['run', '--detach', '--name', run.name, '--network=host'];
  if (podSecurity.runAsUser !== undefined)
    args.push(`--user=${podSecurity.runAsUser}:${podSecurity.runAsGroup ?? 0}`);
  if (podSecurity.fsGroup !== undefined) args.push(`--group-add=${podSecurity.fsGroup}`);
  // --read-only alone still mounts tmpfs on /tmp, /run and /var/tmp; the chart gives no such thing.
  if (security.readOnlyRootFilesystem) args.push('--read-only', '--read-only-tmpfs=false');
  if (security.allowPrivilegeEscalation === false) args.push('--security-opt=no-new-privileges');
  for (const cap of security.capabilities?.drop ?? []) args.push(`--cap-drop=${cap}`);
  if (container.resources?.limits?.memory) args.push(`--memory=${memory(container.resources.limits.memory)}`);

  await mkdir(run.workDir, { recursive: true });
  for (const mount of container.volumeMounts ?? []) {
    const volume = pod.volumes.find((v: { name: string }) => v.name === mount.name);
    const dir = await mkdtemp(join(run.workDir, `${mount.name}-`));
    if (volume?.emptyDir) {
      // As the kubelet makes an emptyDir: world-writable; fsGroup is the container's supplementary group.
      await chmod(dir, 0o777);
      args.push(`--volume=${dir}:${mount.mountPath}:rw`);
    } else if (volume?.configMap) {
      const data = run.configMaps[volume.configMap.name];
      if (!data) throw new Error(`no ConfigMap ${volume.configMap.name} given`);
      for (const [file, text] of Object.entries(data))
        await writeFile(join(dir, file), text, { mode: 0o644 });
      // As the kubelet mounts a ConfigMap: readable by the container's user (mkdtemp makes it 0700, root's only).
      await chmod(dir, 0o755);
      args.push(`--volume=${dir}:${mount.mountPath}:ro`);
    } else {
      throw new Error(`volume ${mount.name} is neither an emptyDir nor a ConfigMap`);
    }
  }

  const env = new Map<string, string>();
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env.set(e.name, e.value);
    else if (e.valueFrom?.fieldRef) {
      const field: string = e.valueFrom.fieldRef.fieldPath;
      env.set(e.name, { 'spec.nodeName': 'images-test-node', 'metadata.name': run.name }[field] ?? 'ffleet');
    } else if (!(e.name in run.env)) throw new Error(`env ${e.name} comes from a Secret: give it in env`);
  }
  for (const [name, value] of Object.entries(run.env)) {
    if (value === undefined) env.delete(name);
    else env.set(name, value);
  }
  for (const [name, value] of env) args.push(`--env=${name}=${value}`);

  args.push(run.image, ...(container.command ?? []), ...(container.args ?? []));
  await mkdir(run.workDir, { recursive: true });
  return args;
}
