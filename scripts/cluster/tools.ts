import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HELM_VERSION } from './versions.ts';

const run = promisify(execFile);

/** Tool cache outside the repository (the Makefile exports FFLEET_CACHE). */
export const cacheDir = process.env.FFLEET_CACHE || join(homedir(), '.cache', 'ffleet');
export const binDir = join(cacheDir, 'bin');

/**
 * Path of a Go tool in the cache, installed with `go install module@version` the first time. A stamp file
 * records the version, so a changed pin reinstalls.
 */
export async function goTool(name: string, module: string, version: string): Promise<string> {
  const bin = join(binDir, name);
  const stamp = join(binDir, `.${name}.version`);
  const installed = existsSync(bin) ? await readFile(stamp, 'utf8').catch(() => '') : '';
  if (installed.trim() === version) return bin;
  // A binary without a stamp (installed by hand) is trusted rather than rebuilt.
  if (existsSync(bin) && installed === '') return bin;
  await run('go', ['install', `${module}@${version}`], {
    cwd: tmpdir(),
    env: { ...process.env, GOBIN: binDir, GOFLAGS: '-mod=mod' },
    maxBuffer: 64 * 1024 * 1024,
  });
  await writeFile(stamp, `${version}\n`);
  return bin;
}

/** The helm `make setup` builds with its Kubernetes version flags (scripts/setup.sh), in a directory of its own. */
export const helmPath = join(cacheDir, `helm-${HELM_VERSION}`, 'helm');
export async function helmBin(): Promise<string> {
  if (!existsSync(helmPath)) throw new Error(`${helmPath} is missing: run make setup`);
  return helmPath;
}

/**
 * Root directory of a Go module version, downloaded through the Go proxy into the module cache. A module whose
 * go.mod asks for a newer Go than the local one is still downloaded, but Go will not unpack it; then the files
 * we need (data such as CRDs, not code) are unpacked from the cached zip into FFLEET_CACHE.
 */
export async function goModuleDir(module: string, version: string, files: string[] = []): Promise<string> {
  let stdout: string;
  try {
    ({ stdout } = await run('go', ['mod', 'download', '-json', `${module}@${version}`], {
      cwd: tmpdir(),
      env: { ...process.env, GOFLAGS: '-mod=mod' },
      maxBuffer: 16 * 1024 * 1024,
    }));
  } catch (error) {
    stdout = (error as { stdout?: string }).stdout ?? '';
  }
  const info = JSON.parse(stdout || '{}') as { Dir?: string; Zip?: string; Error?: string };
  if (info.Dir && existsSync(info.Dir)) return info.Dir;
  if (!info.Zip || !existsSync(info.Zip) || files.length === 0) {
    throw new Error(`go mod download ${module}@${version}: ${info.Error ?? 'no directory'}`);
  }
  const dest = join(cacheDir, 'gomod');
  const root = join(dest, `${module}@${version}`);
  if (files.every((f) => existsSync(join(root, f)))) return root;
  await run('unzip', ['-o', '-q', info.Zip, ...files.map((f) => `${module}@${version}/${f}`), '-d', dest]);
  return root;
}

/** A source edit applied at build time: `from` must occur in `file` (relative to the module root) exactly once. */
export interface SourcePatch {
  file: string;
  from: string;
  to: string;
  /** Why the upstream source is changed, for the build log. */
  why: string;
}

/**
 * Builds commands of a Go module at a pinned version from the Go module proxy into `outDir` (name → package
 * path inside the module, e.g. `{ 'keda-operator': './cmd/operator' }`), unless a build of the same version and
 * patches is there. Builds inside the downloaded module, so its own go.mod, go.sum and replace directives hold;
 * with patches, inside a copy of it under `outDir` (the module cache stays untouched), removed afterwards. When
 * the module asks for a newer Go than the local one, the go command fetches that exact toolchain (itself a module
 * on the proxy).
 */
export async function goBuild(options: {
  module: string;
  version: string;
  commands: Record<string, string>;
  outDir: string;
  patches?: SourcePatch[];
  log?: (line: string) => void;
}): Promise<Record<string, string>> {
  const { module, version, commands, outDir, patches = [], log = () => {} } = options;
  const binaries = Object.fromEntries(Object.keys(commands).map((name) => [name, join(outDir, name)]));
  const stamp = join(outDir, '.build');
  const wanted = JSON.stringify({ module, version, commands, patches });
  const built = await readFile(stamp, 'utf8').catch(() => '');
  if (built === wanted && Object.values(binaries).every((b) => existsSync(b))) return binaries;

  const toolchain = await toolchainFor(module, version);
  const env = { ...process.env, GOTOOLCHAIN: toolchain, GOFLAGS: '-mod=readonly -buildvcs=false' };
  const { stdout } = await run('go', ['mod', 'download', '-json', `${module}@${version}`], {
    cwd: tmpdir(),
    env,
    maxBuffer: 16 * 1024 * 1024,
  });
  const moduleDir = (JSON.parse(stdout) as { Dir: string }).Dir;
  await mkdir(outDir, { recursive: true });
  let sourceDir = moduleDir;
  if (patches.length > 0) {
    sourceDir = join(outDir, 'src');
    await rm(sourceDir, { recursive: true, force: true });
    await cp(moduleDir, sourceDir, { recursive: true });
    await run('chmod', ['-R', 'u+w', sourceDir]);
    for (const patch of patches) {
      const file = join(sourceDir, patch.file);
      const text = await readFile(file, 'utf8');
      if (text.split(patch.from).length !== 2) {
        throw new Error(`${module}@${version}: ${patch.file} does not contain exactly one "${patch.from}"`);
      }
      await writeFile(file, text.replace(patch.from, patch.to));
      log(`patching ${patch.file}: ${patch.why}`);
    }
  }
  const started = Date.now();
  log(`building ${Object.keys(commands).join(', ')} from ${module}@${version} (first time only; slow)`);
  try {
    for (const [name, pkg] of Object.entries(commands)) {
      await run('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', binaries[name]!, pkg], {
        cwd: sourceDir,
        env,
        maxBuffer: 64 * 1024 * 1024,
      });
    }
  } finally {
    if (sourceDir !== moduleDir) await rm(sourceDir, { recursive: true, force: true });
  }
  await writeFile(stamp, wanted);
  log(`built in ${Math.round((Date.now() - started) / 1000)} s`);
  return binaries;
}

/**
 * GOTOOLCHAIN for building a module: the local Go when it is new enough for the module's `go` line, else exactly
 * the Go release that line names.
 */
async function toolchainFor(module: string, version: string): Promise<string> {
  const { stdout } = await run('go', ['mod', 'download', '-json', `${module}@${version}`], {
    cwd: tmpdir(),
    env: { ...process.env, GOTOOLCHAIN: 'local' },
    maxBuffer: 16 * 1024 * 1024,
  }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '{}' }));
  const goMod = (JSON.parse(stdout) as { GoMod?: string }).GoMod;
  if (!goMod) throw new Error(`go mod download ${module}@${version}: no go.mod`);
  const wanted = /^go (\d+\.\d+(?:\.\d+)?)\s*$/m.exec(await readFile(goMod, 'utf8'))?.[1];
  const local = (
    await run('go', ['env', 'GOVERSION'], { env: { ...process.env, GOTOOLCHAIN: 'local' } })
  ).stdout
    .trim()
    .replace(/^go/, '');
  if (!wanted || compareVersions(local, wanted) >= 0) return 'local';
  return `go${wanted}`;
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((n) => Number.parseInt(n, 10) || 0);
  const pb = b.split(/[.-]/).map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
