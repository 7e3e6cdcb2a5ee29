/**
 * Environment settings as TypeBox schemas: each process (gateway, worker, CLI) declares the
 * variables it reads once, with their type, default and meaning; `readSettings` reads and checks
 * them all at start and names every bad variable with the form it expects. The same schemas
 * generate the configuration table in docs/configuration.md.
 */
import {
  type Static,
  type TLiteral,
  type TObject,
  type TProperties,
  type TSchema,
  type TUnion,
  Type,
} from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/** Extra facts a setting's schema carries for its reader and its documentation. */
interface SettingMeta {
  /** The meaning, shown in the docs table. */
  description: string;
  /** The default as the docs table shows it, when it is not a literal (e.g. "the pool's"). */
  documentedDefault?: string;
  /** How a value must look, when a pattern alone would not say (e.g. "a redis:// URL"). */
  expected?: string;
}

/** A text setting; `pattern` and `expected` narrow it. */
export function text(meta: SettingMeta & { default?: string; pattern?: string }) {
  return Type.String({ ...meta, ...(meta.pattern ? { pattern: meta.pattern } : {}) });
}

/** A whole number setting within [minimum, maximum]. */
export function integer(meta: SettingMeta & { default?: number; minimum?: number; maximum?: number }) {
  return Type.Integer({ minimum: 0, ...meta });
}

/** `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`). */
export function flag(meta: SettingMeta & { default: boolean }) {
  return Type.Boolean(meta);
}

/** A comma-separated list; empty entries are dropped. */
export function commaList(meta: SettingMeta & { itemPattern?: string }) {
  return Type.Array(Type.String(meta.itemPattern ? { pattern: meta.itemPattern } : {}), {
    ...meta,
    default: [],
    'x-comma-list': true,
  });
}

/** One of a few words. */
export function oneOf<const T extends readonly string[]>(
  values: T,
  meta: SettingMeta & { default?: T[number] },
): TUnion<TLiteral<T[number]>[]> {
  return Type.Union(
    values.map((v) => Type.Literal(v)),
    meta,
  );
}

/** An optional setting: unset (or empty) reads as undefined. */
export const optional = Type.Optional;

/** The settings of one process. */
export function settings<T extends TProperties>(properties: T): TObject<T> {
  return Type.Object(properties);
}

/** Thrown at start when a setting is malformed; its message names every bad variable. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);

/** Reads every variable `schema` declares from `env`, with defaults; throws a ConfigError naming each bad one. */
export function readSettings<T extends TObject>(schema: T, env: NodeJS.ProcessEnv = process.env): Static<T> {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, setting] of Object.entries(schema.properties) as [string, TSchema][]) {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') {
      if (setting.default !== undefined) values[name] = structuredClone(setting.default);
      else if (!isOptional(schema, name)) problems.push(`${name} is required: ${setting.description}`);
      continue;
    }
    const value = convert(setting, raw);
    if (value === undefined || !Value.Check(setting, value)) {
      problems.push(`${name} must be ${expectedForm(setting)}, got "${raw}"`);
      continue;
    }
    values[name] = value;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return values as Static<T>;
}

function isOptional(schema: TObject, name: string): boolean {
  return !(schema.required ?? []).includes(name);
}

function convert(setting: TSchema, raw: string): unknown {
  switch (setting.type) {
    case 'integer':
      return /^-?\d+$/.test(raw) ? Number(raw) : undefined;
    case 'boolean': {
      const lower = raw.toLowerCase();
      return TRUE.has(lower) ? true : FALSE.has(lower) ? false : undefined;
    }
    case 'array':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    default:
      return raw;
  }
}

/** How a value of this setting must look, in words. */
export function expectedForm(setting: TSchema): string {
  if (setting.expected) return setting.expected;
  if (setting.anyOf) return `one of ${setting.anyOf.map((s: TSchema) => s.const).join(', ')}`;
  switch (setting.type) {
    case 'integer': {
      const { minimum, maximum } = setting;
      if (maximum !== undefined) return `a whole number from ${minimum ?? 0} to ${maximum}`;
      return minimum ? `a whole number of at least ${minimum}` : 'a whole number (0 or more)';
    }
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a comma-separated list';
    default:
      return setting.pattern ? `text matching ${setting.pattern}` : 'text';
  }
}

/** One row of the configuration table in the docs. */
export interface SettingDoc {
  name: string;
  default: string;
  meaning: string;
}

/** The documented form of every variable of `schema`, in declaration order. */
export function describeSettings(schema: TObject): SettingDoc[] {
  return (Object.entries(schema.properties) as [string, TSchema][]).map(([name, setting]) => ({
    name,
    default:
      setting.documentedDefault ??
      (setting.default === undefined || (Array.isArray(setting.default) && setting.default.length === 0)
        ? 'unset'
        : `\`${String(setting.default)}\``),
    meaning: setting.description ?? '',
  }));
}

/** Runs a process's settings loader; a ConfigError ends the process with its message and exit code 2. */
export function loadOrExit<T>(processName: string, load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${processName}: ${error.message}\n`);
    process.exit(2);
  }
}
