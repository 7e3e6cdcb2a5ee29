import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cacheDir } from './tools.ts';
import { KUBERNETES_VERSION } from './versions.ts';

const run = promisify(execFile);
const moduleDir = fileURLToPath(new URL('./kubestack/', import.meta.url));

/** Where the control-plane binary lives; `kubectl` beside it is a symlink to it. */
export const kubestackDir = join(cacheDir, `kube-${KUBERNETES_VERSION}`);
export const kubestackBin = join(kubestackDir, 'kubestack');
export const kubectlBin = join(kubestackDir, 'kubectl');

/**
 * Builds scripts/cluster/kubestack (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok and
 * kubectl from pinned modules) into the cache, unless a build of the same sources is there. The first build
 * compiles Kubernetes: expect tens of minutes on two cores; later runs reuse it.
 */
export async function ensureKubestack(log: (line: string) => void = () => {}): Promise<string> {
  const ldflags = ['-s', '-w', ...versionFlags(KUBERNETES_VERSION)].join(' ');
  const hash = createHash('sha256').update(ldflags);
  for (const file of ['go.mod', 'go.sum', 'main.go']) hash.update(await readFile(join(moduleDir, file)));
  const digest = hash.digest('hex').slice(0, 16);
  const stamp = join(kubestackDir, '.source');
  const built = existsSync(kubestackBin) && (await readFile(stamp, 'utf8').catch(() => '')).trim() === digest;
  if (!built) {
    await mkdir(kubestackDir, { recursive: true });
    log(`building the ${KUBERNETES_VERSION} control plane into ${kubestackBin} (first time only; slow)`);
    const started = Date.now();
    await run('go', ['build', '-trimpath', `-ldflags=${ldflags}`, '-o', kubestackBin, '.'], {
      cwd: moduleDir,
      env: { ...process.env, GOFLAGS: '-mod=mod' },
      maxBuffer: 64 * 1024 * 1024,
    });
    await writeFile(stamp, `${digest}\n`);
    log(`built in ${Math.round((Date.now() - started) / 1000)} s`);
  }
  if (!existsSync(kubectlBin)) {
    await unlink(kubectlBin).catch(() => {});
    await symlink(kubestackBin, kubectlBin);
  }
  return kubestackBin;
}

/**
 * What `make` in the Kubernetes repository stamps into its binaries: servers report this version (Helm checks
 * a chart's kubeVersion against it) and kubectl its client version.
 */
function versionFlags(version: string): string[] {
  const [major, minor] = version.slice(1).split('.');
  return ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((pkg) => [
    `-X ${pkg}.gitVersion=${version}`,
    `-X ${pkg}.gitMajor=${major}`,
    `-X ${pkg}.gitMinor=${minor}`,
    `-X ${pkg}.gitTreeState=clean`,
  ]);
}
