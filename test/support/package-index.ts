/**
 * Checks that every package a Dockerfile's stages `apt-get install` exists in the Debian (or Ubuntu) release the
 * stage builds on, for every architecture the image is built for. Reads the package indexes `scripts/setup.sh`
 * fetched and verified into the tool cache (`package-indexes/<suite>_<component>_<arch>.txt`, "name version"
 * lines), so it needs no network.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../../scripts/cluster/tools.ts';
import { aptInstallPackages, parseDockerfile, type Stage } from './dockerfile.ts';

export const packageIndexDir = join(cacheDir, 'package-indexes');

interface Release {
  distro: 'debian' | 'ubuntu';
  suite: string;
}

const DEBIAN_SUITES: Record<string, string> = { '12': 'bookworm', '13': 'trixie' };
const UBUNTU_SUITES: Record<string, string> = { '22.04': 'jammy', '24.04': 'noble' };
const COMPONENTS = { debian: ['main'], ubuntu: ['main', 'universe'] };

/** The release an official base image is built on: `debian:12.11-slim`, `node:24-bookworm-slim`, `ubuntu:22.04`. */
export function releaseOfImage(image: string): Release | undefined {
  const [name, tag = ''] = image.replace(/^docker\.io\/(library\/)?/, '').split(':') as [string, string?];
  if (name === 'debian') {
    const suite = DEBIAN_SUITES[tag.split(/[.-]/)[0]!] ?? tag.split('-')[0];
    return suite ? { distro: 'debian', suite } : undefined;
  }
  if (name === 'ubuntu') {
    const suite = UBUNTU_SUITES[tag] ?? tag;
    return suite ? { distro: 'ubuntu', suite } : undefined;
  }
  if (name === 'node') {
    const suite = Object.values(DEBIAN_SUITES).find((s) => tag.split('-').includes(s));
    return suite ? { distro: 'debian', suite } : undefined;
  }
  return undefined;
}

const indexes = new Map<string, Map<string, Set<string>>>();

/** Package name → versions of one release, component and architecture; undefined when setup did not fetch it. */
export function loadIndex(
  suite: string,
  component: string,
  arch: string,
): Map<string, Set<string>> | undefined {
  const file = join(packageIndexDir, `${suite}_${component}_${arch}.txt`);
  if (!indexes.has(file)) {
    if (!existsSync(file)) return undefined;
    const index = new Map<string, Set<string>>();
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [name, version] = line.split(' ');
      if (!name || !version) continue;
      if (!index.has(name)) index.set(name, new Set());
      index.get(name)!.add(version);
    }
    indexes.set(file, index);
  }
  return indexes.get(file);
}

export interface PackageCheckOptions {
  /** Architectures the image is built for: `amd64`, `arm64`. */
  arches: string[];
  /**
   * Packages that come from a vendor's apt repository rather than the release, keyed by that repository's URL:
   * accepted only in a stage whose RUN instructions add that URL as an apt source.
   */
  vendorRepositories?: Record<string, string[]>;
}

/** Every problem found, as readable sentences naming the line, package, release and architecture. */
export function checkDockerfilePackages(text: string, options: PackageCheckOptions): string[] {
  const dockerfile = parseDockerfile(text);
  const problems: string[] = [];
  const releaseOfStage = (stage: Stage, seen = new Set<string>()): Release | undefined => {
    const parent = dockerfile.stages.find((s) => s.name === stage.from);
    if (parent && !seen.has(parent.name)) return releaseOfStage(parent, seen.add(parent.name));
    return releaseOfImage(stage.from);
  };
  for (const stage of dockerfile.stages) {
    const runs = stage.instructions.filter((i) => i.keyword === 'RUN');
    const installs = runs.flatMap((run) =>
      aptInstallPackages(dockerfile.expand(run.args)).map((pkg) => ({ pkg, line: run.line })),
    );
    if (installs.length === 0) continue;
    const release = releaseOfStage(stage);
    if (!release) {
      problems.push(
        `stage ${stage.name} (line ${stage.line}): cannot tell which release FROM ${stage.from} is`,
      );
      continue;
    }
    const stageText = runs.map((r) => dockerfile.expand(r.args)).join('\n');
    const vendor = new Set(
      Object.entries(options.vendorRepositories ?? {})
        .filter(([url]) => stageText.includes(url) && /sources\.list/.test(stageText))
        .flatMap(([, names]) => names),
    );
    for (const arch of options.arches) {
      const components = COMPONENTS[release.distro].map((c) => ({
        c,
        index: loadIndex(release.suite, c, arch),
      }));
      const missing = components.filter((c) => !c.index).map((c) => `${release.suite}_${c.c}_${arch}`);
      if (missing.length > 0) {
        problems.push(`no package index ${missing.join(', ')} in ${packageIndexDir}: run make setup`);
        continue;
      }
      for (const { pkg, line } of installs) {
        const [name, version] = pkg.split('=', 2) as [string, string?];
        if (vendor.has(name)) continue;
        const versions = components.flatMap((c) => [...(c.index!.get(name) ?? [])]);
        if (versions.length === 0) {
          problems.push(`line ${line}: package ${name} does not exist in ${release.suite} (${arch})`);
        } else if (version && !versions.includes(version)) {
          problems.push(
            `line ${line}: ${name} ${version} is not in ${release.suite} (${arch}): ${versions.join(', ')}`,
          );
        }
      }
    }
  }
  return problems;
}
