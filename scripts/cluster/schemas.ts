import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cacheDir, goModuleDir } from './tools.ts';
import {
  KARPENTER_CRDS,
  KARPENTER_MODULE,
  KARPENTER_VERSION,
  KEDA_CRDS,
  KEDA_MODULE,
  KEDA_VERSION,
  KUBERNETES_VERSION,
} from './versions.ts';
import { parseYamlDocuments } from './yaml.ts';

/**
 * JSON schemas for kubeconform, built offline from pinned Go modules: the Kubernetes API from the OpenAPI
 * document in k8s.io/kubernetes, Karpenter's and KEDA's kinds from their CRDs. Schemas are strict (unknown
 * fields are errors, as `kubectl apply --validate=strict` would say) and cached under FFLEET_CACHE.
 *
 * Layout, matching the kubeconform -schema-location templates in `kubeconformLocations`:
 *   <dir>/k8s/<kind><-group-prefix>-<version>.json      e.g. deployment-apps-v1.json, service-v1.json
 *   <dir>/crds/<group>/<kind>_<version>.json            e.g. karpenter.sh/nodepool_v1.json
 */
export async function ensureSchemas(): Promise<string> {
  // A changed list of CRD files makes a new directory, so a cache built from an older list is never reused.
  const files = createHash('sha256')
    .update(JSON.stringify([KARPENTER_CRDS, KEDA_CRDS]))
    .digest('hex')
    .slice(0, 8);
  const dir = join(
    cacheDir,
    'schemas',
    `k8s-${KUBERNETES_VERSION}_karpenter-${KARPENTER_VERSION}_keda-${KEDA_VERSION}_${files}`,
  );
  if (existsSync(join(dir, '.complete'))) return dir;
  const staging = `${dir}.tmp-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await writeKubernetesSchemas(join(staging, 'k8s'));
  const karpenter = await goModuleDir(KARPENTER_MODULE, KARPENTER_VERSION, KARPENTER_CRDS);
  const keda = await goModuleDir(KEDA_MODULE, KEDA_VERSION, KEDA_CRDS);
  for (const file of [
    ...KARPENTER_CRDS.map((f) => join(karpenter, f)),
    ...KEDA_CRDS.map((f) => join(keda, f)),
  ]) {
    await writeCrdSchemas(file, join(staging, 'crds'));
  }
  await writeFile(join(staging, '.complete'), '');
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, '..'), { recursive: true });
  await rename(staging, dir);
  return dir;
}

/** -schema-location arguments for kubeconform. */
export function kubeconformLocations(dir: string): string[] {
  return [
    `${dir}/k8s/{{ .ResourceKind }}{{ .KindSuffix }}.json`,
    `${dir}/crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json`,
  ];
}

/** Every CRD document of the pinned Karpenter and KEDA modules (to install them into a test cluster). */
export async function crdManifests(): Promise<string[]> {
  const karpenter = await goModuleDir(KARPENTER_MODULE, KARPENTER_VERSION, KARPENTER_CRDS);
  const keda = await goModuleDir(KEDA_MODULE, KEDA_VERSION, KEDA_CRDS);
  return [...KARPENTER_CRDS.map((f) => join(karpenter, f)), ...KEDA_CRDS.map((f) => join(keda, f))];
}

type Schema = { [key: string]: unknown };
const isObject = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

async function writeKubernetesSchemas(outDir: string): Promise<void> {
  const k8s = await goModuleDir('k8s.io/kubernetes', KUBERNETES_VERSION, ['api/openapi-spec/swagger.json']);
  const swagger = JSON.parse(await readFile(join(k8s, 'api/openapi-spec/swagger.json'), 'utf8')) as {
    definitions: Record<string, Schema>;
  };
  const definitions: Record<string, Schema> = {};
  for (const [name, def] of Object.entries(swagger.definitions)) {
    definitions[name] = strict(special(name) ?? def) as Schema;
  }
  await mkdir(outDir, { recursive: true });
  for (const [name, def] of Object.entries(swagger.definitions)) {
    const gvks = def['x-kubernetes-group-version-kind'] as
      | { group: string; version: string; kind: string }[]
      | undefined;
    for (const { group, version, kind } of gvks ?? []) {
      // One file per kind, standalone: the definition plus every definition it reaches.
      const reached: Record<string, Schema> = {};
      collectRefs(definitions[name], definitions, reached);
      const schema = { ...definitions[name], definitions: reached };
      const suffix = group ? `-${group.split('.')[0]}-${version}` : `-${version}`;
      await writeFile(
        join(outDir, `${kind.toLowerCase()}${suffix}.json`.toLowerCase()),
        JSON.stringify(schema),
      );
    }
  }
}

/** Types the OpenAPI document describes loosely: IntOrString and Quantity accept numbers too. */
function special(name: string): Schema | undefined {
  if (name === 'io.k8s.apimachinery.pkg.util.intstr.IntOrString') {
    return { oneOf: [{ type: 'string' }, { type: 'integer' }] };
  }
  if (name === 'io.k8s.apimachinery.pkg.api.resource.Quantity') {
    return { oneOf: [{ type: 'string' }, { type: 'number' }] };
  }
  return undefined;
}

function collectRefs(node: unknown, all: Record<string, Schema>, out: Record<string, Schema>): void {
  if (Array.isArray(node)) {
    for (const item of node) collectRefs(item, all, out);
    return;
  }
  if (!isObject(node)) return;
  const ref = node.$ref;
  if (typeof ref === 'string' && ref.startsWith('#/definitions/')) {
    const name = ref.slice('#/definitions/'.length);
    if (!(name in out)) {
      const target = all[name];
      if (!target) throw new Error(`OpenAPI definition ${name} is missing`);
      out[name] = target;
      collectRefs(target, all, out);
    }
  }
  for (const value of Object.values(node)) collectRefs(value, all, out);
}

/**
 * Make a schema strict and plain JSON Schema: objects with declared properties reject unknown ones (unless
 * they preserve unknown fields), `format` hints are dropped (they are not assertions here), CRD int-or-string
 * and nullable markers become ordinary types.
 */
function strict(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strict);
  if (!isObject(node)) return node;
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'format' || key === 'x-kubernetes-group-version-kind') continue;
    // Property names are data, not schema keywords: never rewrite the keys of `properties`.
    out[key] =
      key === 'properties' && isObject(value)
        ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, strict(v)]))
        : strict(value);
  }
  if (out['x-kubernetes-int-or-string'] === true) {
    delete out.type;
    if (!out.anyOf) out.anyOf = [{ type: 'string' }, { type: 'integer' }];
  }
  if (out.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  if (isObject(out.properties) && out.additionalProperties === undefined) {
    if (out['x-kubernetes-preserve-unknown-fields'] !== true) out.additionalProperties = false;
  }
  return out;
}

async function writeCrdSchemas(file: string, outDir: string): Promise<void> {
  for (const doc of parseYamlDocuments(await readFile(file, 'utf8'), file)) {
    const crd = doc as {
      kind?: string;
      spec: {
        group: string;
        names: { kind: string };
        versions: { name: string; schema?: { openAPIV3Schema: Schema } }[];
      };
    };
    if (crd.kind !== 'CustomResourceDefinition') continue;
    const groupDir = join(outDir, crd.spec.group);
    await mkdir(groupDir, { recursive: true });
    for (const version of crd.spec.versions) {
      if (!version.schema) continue;
      const schema = strict(version.schema.openAPIV3Schema) as Schema;
      // kubeconform checks apiVersion/kind itself; metadata is an ObjectMeta the CRD leaves open.
      const name = `${crd.spec.names.kind.toLowerCase()}_${version.name}.json`;
      await writeFile(join(groupDir, name), JSON.stringify(schema));
    }
  }
}
