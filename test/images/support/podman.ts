/**
 * Debian's podman with storage and settings of its own (a temporary directory), so `make test-images` neither
 * reads nor leaves anything in the machine's container storage; `reset()` removes every image and build layer.
 *
 * What this machine needs (found the hard way): the `runc` runtime (crun refuses a mixed cgroup v1/v2 layout),
 * the cgroupfs manager and file event log (no systemd), and ulimits below the host's hard limits (podman's
 * defaults ask for more than an unprivileged host allows).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Podman {
  dir: string;
  env: NodeJS.ProcessEnv;
  /** Runs podman; rejects with its output on failure. */
  exec(args: string[], options?: { cwd?: string }): Promise<string>;
  /** Runs podman with its output streamed to a log file (builds are long and chatty). */
  logged(args: string[], log: string, options?: { cwd?: string }): Promise<void>;
  /** Removes every container, image and build layer, then the storage directory itself. */
  reset(): Promise<void>;
}

async function hardLimit(resource: '-n' | '-u'): Promise<number> {
  const { stdout } = await run('bash', ['-c', `ulimit -H ${resource}`]);
  const value = stdout.trim();
  return value === 'unlimited' ? 1 << 20 : Number(value);
}

export async function createPodman(dir: string): Promise<Podman> {
  await mkdir(dir, { recursive: true });
  // Well below the host's hard limits: runc refuses limits at (or near) them here.
  const nofile = Math.min(65536, Math.floor((await hardLimit('-n')) / 2));
  const nproc = Math.min(16384, Math.floor((await hardLimit('-u')) / 2));
  const containersConf = join(dir, 'containers.conf');
  await writeFile(
    containersConf,
    [
      '[containers]',
      `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`,
      '[engine]',
      'runtime = "runc"',
      'cgroup_manager = "cgroupfs"',
      'events_logger = "file"',
      '',
    ].join('\n'),
  );
  const storageConf = join(dir, 'storage.conf');
  await writeFile(
    storageConf,
    ['[storage]', 'driver = "overlay"', `graphroot = "${dir}/storage"`, `runroot = "${dir}/run"`, ''].join(
      '\n',
    ),
  );
  const env = { ...process.env, CONTAINERS_CONF: containersConf, CONTAINERS_STORAGE_CONF: storageConf };
  const exec = async (args: string[], options: { cwd?: string } = {}) => {
    try {
      const { stdout } = await run('podman', args, { env, cwd: options.cwd, maxBuffer: 256 * 1024 * 1024 });
      return stdout;
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string };
      throw new Error(
        `podman ${args.join(' ')} failed:\n${e.stderr ?? ''}${e.stdout ?? ''}`.slice(0, 20_000),
      );
    }
  };
  const logged = async (args: string[], log: string, options: { cwd?: string } = {}) => {
    const { createWriteStream } = await import('node:fs');
    const out = createWriteStream(log, { flags: 'a' });
    const child = spawn('podman', args, { env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(out, { end: false });
    child.stderr.pipe(out, { end: false });
    const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
    await new Promise<void>((resolve) => out.end(resolve));
    if (code !== 0)
      throw new Error(`podman ${args.slice(0, 3).join(' ')} … failed (exit ${code}); see ${log}`);
  };
  return {
    dir,
    env,
    exec,
    logged,
    async reset() {
      await exec(['rm', '--all', '--force']).catch(() => '');
      await exec(['system', 'reset', '--force']).catch(() => '');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
