import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseYamlDocuments } from './yaml.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

// biome-ignore lint/suspicious/noExplicitAny: manifests are arbitrary nested data
export type Manifest = { kind: string; metadata: { name: string }; spec: any };

/** The YAML files of a folder of the repository (the Grafana dashboard excepted). */
export const manifestFiles = (dir: string): string[] =>
  readdirSync(join(repoRoot, dir))
    .filter((f) => f.endsWith('.yaml') && !f.includes('dashboard'))
    .map((f) => join(repoRoot, dir, f));

/** The NodePools, EC2NodeClasses and NodeOverlays of k8s/karpenter. */
export function karpenterManifests(): Manifest[] {
  return manifestFiles('k8s/karpenter').flatMap(
    (f) => parseYamlDocuments(readFileSync(f, 'utf8'), f) as Manifest[],
  );
}
