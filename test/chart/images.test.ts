import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SERVICE_RUNTIME_ENV } from '../../scripts/lib/service-env.ts';
import { parseInstructions } from '../support/dockerfile.ts';
import { repoRoot } from './support/chart.ts';

// No Docker engine runs here, so the images are not built in tests: these checks lint the Dockerfiles for the
// rules that keep them small, pinned, non-root and buildable from the repository root (hadolint's DL3006/3007,
// DL3009, DL3015, DL3020, DL3025, DL3002, DL4006 and friends), and that each image runs what the chart expects.

const NODE_VERSION = /^NODE_VERSION=(.+)$/m.exec(
  readFileSync(join(repoRoot, 'scripts/tools.env'), 'utf8'),
)?.[1];
const IMAGES = {
  gateway: {
    main: 'services/gateway/src/main.ts',
    arches: 'linux/amd64,linux/arm64',
    ffmpeg: [] as string[],
  },
  'worker-cpu': {
    main: 'services/worker/src/main.ts',
    arches: 'linux/amd64,linux/arm64',
    // libzimg: zscale, which tone-maps HDR sources for ladders and previews.
    ffmpeg: ['libx264', 'libx265', 'libsvtav1', 'libvpx', 'libvmaf', 'libzimg'],
  },
  'worker-nvidia': {
    main: 'services/worker/src/main.ts',
    arches: 'linux/amd64',
    ffmpeg: ['nvenc', 'nvdec', 'cuvid', 'cuda-llvm', 'ffnvcodec', 'libvmaf', 'libx264', 'libzimg'],
  },
  'worker-xilinx': { main: 'services/worker/src/main.ts', arches: 'linux/amd64', ffmpeg: [] as string[] },
};

describe.each(Object.entries(IMAGES))('images/%s/Dockerfile', (name, expected) => {
  const text = readFileSync(join(repoRoot, 'images', name, 'Dockerfile'), 'utf8');
  const instructions = parseInstructions(text);
  const args = Object.fromEntries(
    instructions
      .filter((i) => i.keyword === 'ARG' && i.args.includes('='))
      .map((i) => i.args.split('=', 2) as [string, string]),
  );
  const expand = (s: string) => s.replace(/\$\{?(\w+)\}?/g, (_m, v: string) => args[v] ?? `$${v}`);
  const froms = instructions.filter((i) => i.keyword === 'FROM');
  const stages = froms.map((f) => /\bAS\s+(\S+)/i.exec(f.args)?.[1]);
  const runs = instructions.filter((i) => i.keyword === 'RUN');

  it('is multi-stage, every base image pinned to a version (no latest), Node at the pinned 24.x', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) {
      const image = expand(from.args.split(' ')[0]!.replace(/^--platform=\S+\s*/, ''));
      if (stages.includes(image)) continue;
      expect(image, `line ${from.line}`).toMatch(/^[\w./-]+:[\w.-]*\d[\w.-]*$/);
      expect(image).not.toMatch(/:latest$/);
      if (image.startsWith('node:')) expect(image.startsWith(`node:${NODE_VERSION}-`), image).toBe(true);
    }
    expect(NODE_VERSION).toMatch(/^24\./);
    expect(stages.every(Boolean), 'every stage is named').toBe(true);
  });

  it('runs as a non-root numeric user, with an exec-form entrypoint that starts the service', () => {
    const users = instructions.filter((i) => i.keyword === 'USER');
    expect(users.at(-1)?.args).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/);
    const lastFrom = froms.at(-1)!.line;
    expect(users.at(-1)!.line).toBeGreaterThan(lastFrom);
    const exec = instructions.filter((i) => i.keyword === 'ENTRYPOINT' || i.keyword === 'CMD');
    for (const i of exec) expect(() => JSON.parse(i.args), `${i.keyword} is exec form`).not.toThrow();
    const command = exec.flatMap((i) => JSON.parse(i.args) as string[]);
    expect(command.slice(-2)).toEqual(['node', expected.main]);
    expect(existsSync(join(repoRoot, expected.main))).toBe(true);
  });

  it('gives the service the runtime settings local fleets and benchmarks use (scripts/lib/service-env.ts)', () => {
    const lastFrom = froms.at(-1)!.line;
    const env = Object.fromEntries(
      instructions
        .filter((i) => i.keyword === 'ENV' && i.line > lastFrom)
        .flatMap((i) => i.args.split(/\s+/))
        .map((pair) => pair.split(/=(.*)/s, 2) as [string, string]),
    );
    for (const [name, value] of Object.entries(SERVICE_RUNTIME_ENV)) expect(env[name], name).toBe(value);
  });

  it('copies only paths that exist in the repository (the build context), never ADDs', () => {
    expect(instructions.filter((i) => i.keyword === 'ADD')).toEqual([]);
    for (const copy of instructions.filter((i) => i.keyword === 'COPY' && !i.args.includes('--from='))) {
      const parts = copy.args.split(' ').filter((p) => !p.startsWith('--'));
      for (const source of parts.slice(0, -1)) {
        expect(existsSync(join(repoRoot, source)), `COPY ${source} (line ${copy.line})`).toBe(true);
      }
    }
  });

  it('keeps layers small: no recommended packages, apt lists removed, downloads checksum-verified', () => {
    for (const run of runs) {
      if (/apt-get install/.test(run.args)) {
        expect(run.args, `line ${run.line}`).toMatch(/apt-get update/);
        expect(run.args, `line ${run.line}`).toMatch(/--no-install-recommends/);
        expect(run.args, `line ${run.line}`).toMatch(/ -y /);
        expect(run.args, `line ${run.line}`).toMatch(/rm -rf \/var\/lib\/apt\/lists/);
      }
      // Every download is checked: against a pinned checksum, or (a signing key) against a pinned fingerprint.
      if (/(^|&&|\|\||;|\|)\s*(curl|wget)\s/.test(run.args)) {
        expect(run.args, `download verified (line ${run.line})`).toMatch(
          /sha256sum -c|gpg --show-keys[^&]*fpr/,
        );
      }
      if (/ \| /.test(run.args)) {
        const shell = instructions.filter((i) => i.keyword === 'SHELL' && i.line < run.line).at(-1);
        expect(shell?.args, `pipefail before the piped RUN at line ${run.line}`).toContain('pipefail');
      }
      expect(run.args, 'use WORKDIR, not cd').not.toMatch(/(^|&& )cd /);
    }
  });

  it('documents how to build it for its architectures', () => {
    expect(text).toContain(`--platform ${expected.arches}`);
    expect(text).toContain(`-f images/${name}/Dockerfile`);
  });

  if (expected.ffmpeg.length > 0) {
    it('builds FFmpeg with the codecs its pool advertises and the filters its pipelines need', () => {
      const configure = runs.find((r) => r.args.includes('./configure'));
      expect(configure).toBeDefined();
      for (const feature of expected.ffmpeg) expect(configure!.args).toContain(`--enable-${feature}`);
    });
  }
});
