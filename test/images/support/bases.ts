/**
 * The base images the Dockerfiles name, made locally instead of pulled from a registry: Debian with mmdebstrap,
 * and Node on top of it from the npm registry's platform package (the one `make setup` installs) plus npm. They
 * are tagged with the names the Dockerfiles use (`debian:12.11-slim`, `node:24.21.0-bookworm-slim`), so the
 * Dockerfiles build unchanged with `--pull=never`.
 *
 * Test-only: the Node base trusts the host's CA bundle (NODE_EXTRA_CA_CERTS), since HTTPS from this machine goes
 * through a proxy with its own certificate authority.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from '../../../scripts/cluster/tools.ts';
import type { Podman } from './podman.ts';

const run = promisify(execFile);

/** npm inside the Node base: the Dockerfiles install pnpm with it. */
export const NPM_VERSION = '11.21.2';
export const DEBIAN_MIRROR = process.env.FFLEET_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
const HOST_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

/** `node:24-bookworm-slim` → `docker.io/library/node:24-bookworm-slim`: the name podman resolves short names to. */
export const fullName = (image: string): string =>
  image.includes('/') ? image : `docker.io/library/${image}`;

/** A minimal Debian root file system of `suite` with its updates and security sources, imported as `image`. */
export async function makeDebianBase(
  podman: Podman,
  suite: string,
  image: string,
  log: string,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ffleet-debian-'));
  try {
    const tarball = join(dir, 'rootfs.tar');
    const security = DEBIAN_MIRROR.replace(/\/debian\/?$/, '/debian-security');
    await run(
      'mmdebstrap',
      [
        '--variant=minbase',
        '--quiet',
        '--aptopt=Acquire::Languages "none"',
        '--dpkgopt=path-exclude=/usr/share/doc/*',
        '--dpkgopt=path-exclude=/usr/share/man/*',
        '--dpkgopt=path-exclude=/usr/share/locale/*',
        suite,
        tarball,
        `deb ${DEBIAN_MIRROR} ${suite} main`,
        `deb ${DEBIAN_MIRROR} ${suite}-updates main`,
        `deb ${security} ${suite}-security main`,
      ],
      { maxBuffer: 64 * 1024 * 1024 },
    ).catch((error) => {
      throw new Error(`mmdebstrap ${suite} failed: ${(error as { stderr?: string }).stderr ?? error}`);
    });
    await podman.logged(['import', tarball, fullName(image)], log);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Node `nodeVersion` (from the setup cache) and npm on top of the Debian base `from`, tagged `image`. */
export async function makeNodeBase(
  podman: Podman,
  from: string,
  nodeVersion: string,
  image: string,
  log: string,
): Promise<void> {
  const context = await mkdtemp(join(tmpdir(), 'ffleet-node-base-'));
  try {
    await cp(join(cacheDir, `node-${nodeVersion}`), join(context, 'node'), { recursive: true });
    const { stdout } = await run('npm', ['pack', '--silent', `npm@${NPM_VERSION}`], { cwd: context });
    await mkdir(join(context, 'npm'));
    await run('tar', [
      '-xzf',
      join(context, stdout.trim()),
      '-C',
      join(context, 'npm'),
      '--strip-components=1',
    ]);
    await cp(HOST_CA_BUNDLE, join(context, 'host-ca.crt'));
    const folders = (await readdir(join(context, 'node'))).filter((f) =>
      ['bin', 'include', 'share'].includes(f),
    );
    await writeFile(
      join(context, 'Containerfile'),
      [
        `FROM ${fullName(from)}`,
        ...folders.map((f) => `COPY node/${f}/ /usr/local/${f}/`),
        'COPY npm/ /usr/local/lib/node_modules/npm/',
        'RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\',
        ' && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx',
        'COPY host-ca.crt /usr/local/share/ffleet-test/ca.crt',
        'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/ffleet-test/ca.crt',
        '',
      ].join('\n'),
    );
    await podman.logged(['build', '--format', 'docker', '--pull=never', '-t', fullName(image), context], log);
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}
