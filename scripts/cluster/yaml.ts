import { createRequire } from 'node:module';

/**
 * The `yaml` package, loaded through @ffleet/core (which depends on it), so these scripts and tests need no
 * dependency of their own at the workspace root.
 */
interface YamlDocument {
  toJS(): unknown;
  errors: { message: string }[];
}
interface YamlModule {
  parse(text: string): unknown;
  parseAllDocuments(text: string): YamlDocument[];
  stringify(value: unknown): string;
}
const load = createRequire(new URL('../../services/core/package.json', import.meta.url));
const yaml = load('yaml') as YamlModule;

export const parseYaml = (text: string): unknown => yaml.parse(text);
export const stringifyYaml = (value: unknown): string => yaml.stringify(value);

/** Every non-empty document of a multi-document YAML stream (such as `helm template` output). */
export function parseYamlDocuments(text: string, source = 'YAML'): unknown[] {
  return yaml.parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors[0]!.message}`);
    const value = doc.toJS();
    return value === null || value === undefined ? [] : [value];
  });
}
