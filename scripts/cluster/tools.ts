import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

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
