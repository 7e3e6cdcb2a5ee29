import { UnsafeJobError } from '../errors.ts';
import { checkFiltergraph } from './filtergraph.ts';
import {
  LIST_DEMUXERS,
  MEDIA_DEMUXERS,
  MUXERS,
  OPTIONS,
  type OptionDef,
  REFUSED_FORMATS,
  REFUSED_OPTIONS,
  type Scope,
} from './option-table.ts';
import { type ValueKind, valueCheck } from './option-values.ts';
import { referenceProblem } from './references.ts';
import { tokenize } from './tokenize.ts';

export type { Scope } from './option-table.ts';

/** One option of a job, checked against the option table. */
export interface ParsedOption {
  /** As written: `-c:v`. */
  token: string;
  /** Table name: `c`. */
  name: string;
  /** Stream specifier after the first `:`: `v`. */
  specifier?: string;
  value?: string;
  kind: ValueKind['kind'];
}

export interface OptionContext {
  /** The job field the tokens came from, e.g. `outputs[0].options`. */
  field: string;
  /** Where the tokens are written: globalOptions, an input's or an output's options. */
  scope: Scope;
  /** How many inputs the job declares (for `-map 1:a` and `[1:v]` checks). */
  inputCount: number;
}

const SPECIFIER = /^[A-Za-z0-9_#.:-]{1,64}$/;

/** How many checked option strings are kept in each scope, and the longest kept. */
const KEPT_STRINGS = 500;
const KEPT_LENGTH = 4096;
/**
 * Checked option strings of each scope, oldest first: fleets send one preset with many inputs.
 * Keyed by the string as it came, so a lookup builds nothing; `-map 1:a` and filtergraph
 * labels also depend on the job's number of inputs, kept beside the options.
 */
const checkedStrings: Record<Scope, Map<string, { inputCount: number; options: readonly ParsedOption[] }>> = {
  global: new Map(),
  input: new Map(),
  output: new Map(),
};

/**
 * The options of one option string (a job's `globalOptions` or an input's or output's `options`),
 * split and checked. A string that passed is kept, frozen, for the next job that sends it: the
 * gateway and the workers see the same few presets again and again. One that fails is checked
 * anew each time, so its error always names the field it came from.
 */
export function parseOptionString(text: string | undefined, ctx: OptionContext): readonly ParsedOption[] {
  if (text === undefined || text === '') return [];
  const checked = checkedStrings[ctx.scope];
  const kept = checked.get(text);
  if (kept?.inputCount === ctx.inputCount) return kept.options;
  const options = Object.freeze(parseOptions(tokenize(text, ctx.field), ctx).map((o) => Object.freeze(o)));
  if (text.length <= KEPT_LENGTH) {
    checked.set(text, { inputCount: ctx.inputCount, options });
    if (checked.size > KEPT_STRINGS) checked.delete(checked.keys().next().value!);
  }
  return options;
}

/**
 * Reads tokens as `-option [value]` pairs using the option table: every option must be in
 * it, written where it belongs, with a value of its kind. A bare word is refused, because
 * ffmpeg would take it as an extra output file. Throws UnsafeJobError naming the token.
 */
export function parseOptions(tokens: readonly string[], ctx: OptionContext): ParsedOption[] {
  const parsed: ParsedOption[] = [];
  for (let position = 0; position < tokens.length; position++) {
    const token = tokens[position]!;
    const refuse = (why: string, value?: string): never => {
      const shown = value === undefined ? `"${token}"` : `${token} "${clip(value)}"`;
      throw new UnsafeJobError(`${ctx.field}: ${shown} is refused: ${why}`, {
        field: ctx.field,
        token,
        ...(value === undefined ? {} : { value }),
        position,
        reason: why,
      });
    };

    if (!token.startsWith('-') || token === '-') {
      const problem = token === '-' ? 'it means stdin/stdout' : referenceProblem(token);
      refuse(
        `it is not an option${problem ? ` (${problem})` : ''}; ffmpeg would take a bare word as an ` +
          'extra output file, and outputs come only from outputs[]',
      );
    }
    if (token.startsWith('--')) refuse('ffmpeg options start with a single "-"');
    if (token.startsWith('-/')) refuse('"-/option" would load the option value from a file');

    const body = token.slice(1);
    const colon = body.indexOf(':');
    const name = colon < 0 ? body : body.slice(0, colon);
    const specifier = colon < 0 ? undefined : body.slice(colon + 1);

    if (name.includes('=')) {
      refuse('"-option=value" is not ffmpeg syntax: write the value as the next word, e.g. "-t 10"');
    }
    const refusedWhy = own(REFUSED_OPTIONS, name);
    if (refusedWhy !== undefined) refuse(`-${name} is not allowed: ${refusedWhy}`);
    const def = own(OPTIONS, name);
    if (def === undefined) {
      refuse(
        `-${name} is not an option ffleet accepts (the option table is in services/core/src/ffmpeg/option-table.ts)`,
      );
    }
    checkScope(def!, name, ctx.scope, refuse);

    if (specifier !== undefined) {
      if (!def!.perStream) refuse(`-${name} takes no stream specifier`);
      if (!SPECIFIER.test(specifier!) || referenceProblem(specifier!)) {
        refuse(`"${specifier}" is not a stream specifier`);
      }
    }

    const option: ParsedOption = { token, name, kind: def!.value.kind };
    if (specifier !== undefined) option.specifier = specifier;
    if (def!.value.kind !== 'none') {
      const value = tokens[position + 1];
      if (value === undefined) refuse(`-${name} needs a value`);
      position++;
      const why = checkValue(def!.value, value!, ctx, token);
      if (why) refuse(why, value);
      option.value = value!;
    }
    parsed.push(option);
  }
  return parsed;
}

function checkScope(def: OptionDef, name: string, scope: Scope, refuse: (why: string) => never): void {
  if (def.scopes.includes('global') || def.scopes.includes(scope)) return;
  const where = def.scopes
    .map((s) => (s === 'input' ? 'inputs[i].options' : 'outputs[i].options'))
    .join(' or ');
  refuse(
    `-${name} is ${def.scopes.length > 1 ? 'a per-file' : `an ${def.scopes[0]}`} option: write it in ${where}`,
  );
}

/** Why `value` does not fit `kind`, or undefined. Filtergraphs throw their own error. */
function checkValue(kind: ValueKind, value: string, ctx: OptionContext, token: string): string | undefined {
  if (kind.kind === 'filtergraph') {
    checkFiltergraph(value, { field: ctx.field, option: token, inputCount: ctx.inputCount });
    return undefined;
  }
  if (kind.kind === 'format') return checkFormat(value, token === '-f' ? ctx.scope : 'output');
  const why = valueCheck(kind)(value);
  if (why) return why;
  if (kind.kind === 'map' || kind.kind === 'mapMetadata') {
    const index = /^-?(\d+)/.exec(value);
    if (index && Number(index[1]) >= ctx.inputCount && !(kind.kind === 'mapMetadata' && value === '-1')) {
      return `refers to input ${index[1]}, but the job has ${ctx.inputCount}`;
    }
  }
  const checked = kind.kind === 'metadata' ? value.slice(value.indexOf('=') + 1) : value;
  return referenceProblem(checked);
}

function checkFormat(value: string, scope: Scope): string | undefined {
  const allowed =
    scope === 'input'
      ? MEDIA_DEMUXERS.includes(value) || (LIST_DEMUXERS as readonly string[]).includes(value)
      : MUXERS.includes(value);
  if (allowed) return undefined;
  const why = own(REFUSED_FORMATS, value);
  const what = scope === 'input' ? 'input format' : 'output format';
  return why ? `${value} is not allowed as an ${what}: ${why}` : `${value} is not an ${what} ffleet accepts`;
}

function own<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

function clip(value: string): string {
  return value.length > 120 ? `${value.slice(0, 117)}...` : value;
}
