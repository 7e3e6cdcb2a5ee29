import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDockerfilePackages, releaseOfImage } from '../support/package-index.ts';
import { repoRoot } from './support/chart.ts';

// Every package the Dockerfiles `apt-get install` must exist in the release each stage builds on, for every
// architecture the image is built for: a name that only exists in another release fails here, not in a registry
// build. The indexes come from scripts/setup.sh (Debian bookworm and trixie for amd64 and arm64, Ubuntu jammy main
// and universe for amd64); the check itself is offline.
const platforms = (text: string) =>
  /--platform (\S+)/
    .exec(text)![1]!
    .split(',')
    .map((p) => p.replace(/^linux\//, ''));
// Xilinx's own repository is not reachable from the build machines: its packages are accepted only in the stage
// that adds it as an apt source.
const vendorRepositories = {
  'https://packages.xilinx.com/artifactory/debian-packages': [
    'xrt',
    'xilinx-alveo-u30-core',
    'xilinx-alveo-u30-ffmpeg',
  ],
};

describe('Debian packages the Dockerfiles install', () => {
  const images = readdirSync(join(repoRoot, 'images'));

  it.each(images)('images/%s/Dockerfile names only packages of its stages’ releases', (name) => {
    const text = readFileSync(join(repoRoot, 'images', name, 'Dockerfile'), 'utf8');
    expect(checkDockerfilePackages(text, { arches: platforms(text), vendorRepositories })).toEqual([]);
  });

  it('refuses a package the release does not have, per release and architecture, and a version it does not have', () => {
    const text = readFileSync(join(repoRoot, 'test/chart/fixtures/unknown-package.Dockerfile'), 'utf8');
    expect(checkDockerfilePackages(text, { arches: platforms(text) })).toEqual([
      'line 5: package libvmaf-dev does not exist in bookworm (amd64)',
      'line 5: package libvmaf-dev does not exist in bookworm (arm64)',
      'line 10: package libx265-199 does not exist in trixie (amd64)',
      expect.stringMatching(/^line 10: ca-certificates 0\.0-not-a-version is not in trixie \(amd64\): \d/),
      'line 10: package libx265-199 does not exist in trixie (arm64)',
      expect.stringMatching(/^line 10: ca-certificates 0\.0-not-a-version is not in trixie \(arm64\): \d/),
    ]);
  });

  it('accepts a vendor package only where its repository is added', () => {
    const text = readFileSync(join(repoRoot, 'images/worker-xilinx/Dockerfile'), 'utf8');
    expect(checkDockerfilePackages(text, { arches: ['amd64'] })).toEqual([
      expect.stringMatching(/package xrt does not exist in jammy \(amd64\)/),
      expect.stringMatching(/package xilinx-alveo-u30-core does not exist in jammy/),
      expect.stringMatching(/package xilinx-alveo-u30-ffmpeg does not exist in jammy/),
    ]);
  });

  it('knows the release of each base image the Dockerfiles use', () => {
    expect(releaseOfImage('debian:12.11-slim')).toEqual({ distro: 'debian', suite: 'bookworm' });
    expect(releaseOfImage('node:24.21.0-bookworm-slim')).toEqual({ distro: 'debian', suite: 'bookworm' });
    expect(releaseOfImage('docker.io/library/debian:trixie-slim')).toEqual({
      distro: 'debian',
      suite: 'trixie',
    });
    expect(releaseOfImage('ubuntu:22.04')).toEqual({ distro: 'ubuntu', suite: 'jammy' });
    expect(releaseOfImage('node:24-alpine')).toBeUndefined();
  });
});
