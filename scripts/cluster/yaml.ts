import { parse, parseAllDocuments, stringify } from 'yaml';

export const parseYaml = (text: string): unknown => parse(text);
export const stringifyYaml = (value: unknown): string => stringify(value);

/** Every non-empty document of a multi-document YAML stream (such as `helm template` output). */
export function parseYamlDocuments(text: string, source = 'YAML'): unknown[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors[0]!.message}`);
    const value: unknown = doc.toJS();
    return value === null || value === undefined ? [] : [value];
  });
}
