import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// The worker-xilinx entrypoint against a fake Video SDK layout (no U30 card here): stand-in xrmd and xrmadm
// programs record what the entrypoint asks of them, and the "worker" prints the environment it was started with.
const entrypoint = fileURLToPath(new URL('../../images/worker-xilinx/entrypoint.sh', import.meta.url));
const LOAD_DEVICES = 'xcdr/scripts/xrm_commands/load_multiple_devices/load_all_devices_cmd.json';
const LOAD_PLUGINS = 'xcdr/scripts/xrm_commands/load_multi_u30_xrm_plugins_cmd.json';

let root: string;
let sdk: string;

async function file(path: string, text = '', mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  await chmod(path, mode);
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'ffleet-xilinx-'));
  sdk = join(root, 'opt-xilinx');
  for (const dir of ['xrt/lib', 'xrm/lib', 'ffmpeg/lib', 'xrt/bin'])
    await mkdir(join(sdk, dir), { recursive: true });
  await file(join(sdk, 'ffmpeg/bin/ffmpeg'), '#!/bin/sh\n', 0o755);
  await file(join(sdk, LOAD_DEVICES), '{}');
  await file(join(sdk, LOAD_PLUGINS), '{}');
  // xrmd "starts" (leaves a marker); xrmadm refuses until it has, then logs each command file it is given.
  await file(join(sdk, 'xrm/bin/xrmd'), `#!/bin/sh\nsleep 0.3\ntouch "${root}/xrmd-up"\n`, 0o755);
  await file(
    join(sdk, 'xrm/bin/xrmadm'),
    `#!/bin/sh\n[ -e "${root}/xrmd-up" ] || { echo "xrmd is not running" >&2; exit 1; }\necho "$1" >> "${root}/xrmadm.log"\n`,
    0o755,
  );
  await file(join(root, 'dev/dri/renderD128'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function run(env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const worker = ['node', '-e', 'console.log(JSON.stringify(process.env))'];
  return new Promise((resolve) => {
    execFile(
      'bash',
      [entrypoint, ...worker],
      {
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          FFLEET_XILINX_ROOT: sdk,
          FFLEET_XILINX_DEVICES: join(root, 'dev/dri/renderD*'),
          FFLEET_XRMD_WAIT_SECONDS: '3',
          ...env,
        },
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

describe('worker-xilinx entrypoint', () => {
  it("starts the worker with the SDK's variables set, after xrmd loaded the devices and then the plugins", async () => {
    const result = await run({ LD_LIBRARY_PATH: '/already/there' });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const env = JSON.parse(result.stdout) as Record<string, string>;
    expect(env.XILINX_XRT).toBe(join(sdk, 'xrt'));
    expect(env.XILINX_XRM).toBe(join(sdk, 'xrm'));
    expect(env.LD_LIBRARY_PATH).toBe(
      [join(sdk, 'xrt/lib'), join(sdk, 'xrm/lib'), join(sdk, 'ffmpeg/lib'), '/already/there'].join(':'),
    );
    expect(env.PATH!.split(':').slice(0, 4)).toEqual(
      ['ffmpeg/bin', 'xcdr/bin', 'xrm/bin', 'xrt/bin'].map((d) => join(sdk, d)),
    );
    expect((await readFile(join(root, 'xrmadm.log'), 'utf8')).trim().split('\n')).toEqual([
      join(sdk, LOAD_DEVICES),
      join(sdk, LOAD_PLUGINS),
    ]);
  });

  it('works with no LD_LIBRARY_PATH at all (no unset variables under set -u)', async () => {
    const result = await run();
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as Record<string, string>).LD_LIBRARY_PATH).toBe(
      [join(sdk, 'xrt/lib'), join(sdk, 'xrm/lib'), join(sdk, 'ffmpeg/lib')].join(':'),
    );
  });

  it('stops with a message naming what is missing when the SDK layout is incomplete', async () => {
    await rm(join(sdk, 'xrm/lib'), { recursive: true });
    await rm(join(sdk, LOAD_PLUGINS));
    const result = await run();
    expect(result.code).toBe(78);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('the Xilinx Video SDK is not where this image expects it');
    expect(result.stderr).toContain(join(sdk, 'xrm/lib'));
    expect(result.stderr).toContain(join(sdk, LOAD_PLUGINS));
  });

  it('stops with a message when the pod was given no U30 device', async () => {
    await rm(join(root, 'dev'), { recursive: true });
    const result = await run();
    expect(result.code).toBe(78);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/no U30 device .*must request amd.com\/ama_u30/);
  });

  it('stops with xrmadm’s own words when xrmd never comes up', async () => {
    await file(join(sdk, 'xrm/bin/xrmd'), '#!/bin/sh\nexit 1\n', 0o755);
    const result = await run({ FFLEET_XRMD_WAIT_SECONDS: '1' });
    expect(result.code).toBe(78);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/xrmd did not load the U30 devices within 1s: xrmd is not running/);
  });
});
