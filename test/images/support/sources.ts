/**
 * The source tarballs the worker image builds, fetched once into the tool cache and served to the build from a
 * loopback HTTP server (the Dockerfiles take their URLs as build arguments; the pinned checksums still decide).
 *
 * - FFmpeg: the upstream release tarball as Debian ships it (`ffmpeg_<v>.orig.tar.xz` with FFmpeg's signature
 *   `.asc`), fetched with `apt-get source --download-only ffmpeg` from trixie's deb-src, and verified against the
 *   release signing key in the Debian package (`debian/upstream/signing-key.asc`).
 * - libvmaf: the release tarball from the Dockerfile's VMAF_URL, or a local file named by FFLEET_VMAF_SOURCE
 *   where that host is not reachable.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir } from '../../../scripts/cluster/tools.ts';
import { DEBIAN_MIRROR } from './bases.ts';

const run = promisify(execFile);
export const sourcesDir = join(cacheDir, 'sources');

export async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk);
  return hash.digest('hex');
}

/** FFmpeg's release tarball from Debian trixie's source package, its upstream signature checked. */
export async function ffmpegFromDebian(): Promise<{ file: string; version: string }> {
  const dir = join(sourcesDir, 'ffmpeg-debian');
  await mkdir(dir, { recursive: true });
  if (!(await readdir(dir)).some((f) => f.endsWith('.orig.tar.xz.asc'))) {
    const apt = await mkdtemp(join(tmpdir(), 'ffleet-apt-'));
    try {
      await mkdir(join(apt, 'lists/partial'), { recursive: true });
      await mkdir(join(apt, 'cache/archives/partial'), { recursive: true });
      await writeFile(join(apt, 'sources.list'), `deb-src ${DEBIAN_MIRROR} trixie main\n`);
      // A private apt state: the machine's sources and lists stay as they are.
      const options = [
        `-o=Dir::Etc::SourceList=${join(apt, 'sources.list')}`,
        '-o=Dir::Etc::SourceParts=/nonexistent',
        `-o=Dir::State::Lists=${join(apt, 'lists')}`,
        `-o=Dir::Cache=${join(apt, 'cache')}`,
        '-o=APT::Sandbox::User=root',
      ];
      await run('apt-get', [...options, '-qq', 'update']);
      await run('apt-get', [...options, '-qq', 'source', '--download-only', 'ffmpeg'], { cwd: dir });
    } finally {
      await rm(apt, { recursive: true, force: true });
    }
  }
  const files = await readdir(dir);
  const orig = files.find((f) => /^ffmpeg_[\d.]+\.orig\.tar\.xz$/.test(f));
  const debian = files.find((f) => f.endsWith('.debian.tar.xz'));
  if (!orig || !debian || !files.includes(`${orig}.asc`))
    throw new Error(`incomplete ffmpeg source in ${dir}`);
  const gnupg = await mkdtemp(join(tmpdir(), 'ffleet-gnupg-'));
  try {
    await run('tar', ['-xJf', join(dir, debian), '-C', gnupg, 'debian/upstream/signing-key.asc']);
    const key = await readFile(join(gnupg, 'debian/upstream/signing-key.asc'));
    const keyring = join(gnupg, 'ffmpeg.gpg');
    // gpg --dearmor reads the key on standard input; gpgv then checks the signature against it alone.
    const dearmored = await new Promise<Buffer>((resolve, reject) => {
      const child = execFile(
        'gpg',
        ['--homedir', gnupg, '--dearmor'],
        { encoding: 'buffer' },
        (error, out) => (error ? reject(error) : resolve(out as unknown as Buffer)),
      );
      child.stdin?.end(key);
    });
    await writeFile(keyring, dearmored);
    await run('gpgv', ['--keyring', keyring, join(dir, `${orig}.asc`), join(dir, orig)]);
  } finally {
    await rm(gnupg, { recursive: true, force: true });
  }
  return { file: join(dir, orig), version: /^ffmpeg_([\d.]+)\.orig/.exec(orig)![1]! };
}

/** libvmaf's release tarball: FFLEET_VMAF_SOURCE if set, else downloaded once from `url` into the cache. */
export async function vmafSource(url: string): Promise<string> {
  if (process.env.FFLEET_VMAF_SOURCE) return process.env.FFLEET_VMAF_SOURCE;
  const file = join(sourcesDir, basename(new URL(url).pathname).replace(/^v/, 'vmaf-'));
  if (!existsSync(file)) {
    await mkdir(sourcesDir, { recursive: true });
    await run('curl', ['-fsSL', '-o', `${file}.part`, url]).catch((error) => {
      throw new Error(
        `cannot download ${url} (${(error as { stderr?: string }).stderr?.trim()}): set FFLEET_VMAF_SOURCE to a copy of it`,
      );
    });
    await run('mv', [`${file}.part`, file]);
  }
  return file;
}

/**
 * Serves files by their base name on 127.0.0.1 until closed: on a free port, or FFLEET_SOURCES_PORT (the URLs are
 * build arguments, so a run that reuses an earlier build cache must serve on the same port).
 */
export async function serveFiles(
  files: string[],
): Promise<{ url(file: string): string; close(): Promise<void> }> {
  const byName = new Map(files.map((f) => [basename(f), f]));
  const server: Server = createServer((request, response) => {
    const file = byName.get(decodeURIComponent((request.url ?? '').slice(1)));
    if (!file) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    createReadStream(file).pipe(response);
  });
  await new Promise<void>((resolve) =>
    server.listen(Number(process.env.FFLEET_SOURCES_PORT ?? 0), '127.0.0.1', resolve),
  );
  const { port } = server.address() as { port: number };
  return {
    url: (file) => `http://127.0.0.1:${port}/${encodeURIComponent(basename(file))}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
