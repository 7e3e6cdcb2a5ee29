/**
 * A parser for FFmpeg's filtergraph syntax, so filters are judged by what ffmpeg will
 * actually instantiate, not by grepping the text. It follows libavfilter's rules:
 *
 *   graph   := ["sws_flags=" flags ";"] chain (";" chain)*
 *   chain   := filter ("," filter)*
 *   filter  := ("[" label "]")* name ["@" id] ["=" args] ("[" label "]")*
 *   args    := arg (":" arg)*          arg := [key "="] value
 *
 * with two levels of quoting, as ffmpeg applies them: first the graph level (the filter
 * name and its whole argument string, terminated by `[ ] , ;`), then the option level (each
 * `key=value`, terminated by `:`). At both levels `'…'` quotes literally, `\x` escapes one
 * character, and unquoted leading/trailing whitespace is dropped (`av_get_token`).
 */

import { UnsafeJobError } from '../errors.ts';
import { ALLOWED_FILTERS, FILE_OPTION_FILTERS, REFUSED_FILTERS } from './filter-table.ts';
import { referenceProblem } from './references.ts';

export interface FilterArg {
  /** Explicit option name, or undefined for a positional (shorthand) value. */
  key?: string;
  value: string;
}

export interface FilterNode {
  /** Filter name as ffmpeg looks it up (the part before `@`). */
  name: string;
  /** Instance id after `@`, if any. */
  instance?: string;
  args: FilterArg[];
  inputs: string[];
  outputs: string[];
}

export interface Filtergraph {
  swsFlags?: string;
  chains: FilterNode[][];
}

export class FiltergraphSyntaxError extends Error {
  readonly position: number;
  constructor(message: string, position: number) {
    super(message);
    this.name = 'FiltergraphSyntaxError';
    this.position = position;
  }
}

const WHITESPACE = ' \n\t\r';

/** A cursor over a string with libavutil's `av_get_token` semantics. */
class Cursor {
  readonly text: string;
  pos: number;
  constructor(text: string, pos = 0) {
    this.text = text;
    this.pos = pos;
  }
  get done(): boolean {
    return this.pos >= this.text.length;
  }
  peek(): string | undefined {
    return this.text[this.pos];
  }
  skipWhitespace(): void {
    while (!this.done && WHITESPACE.includes(this.text[this.pos]!)) this.pos++;
  }
  /** Reads up to (not including) an unquoted, unescaped terminator character. */
  token(terminators: string): string {
    this.skipWhitespace();
    let out = '';
    let keep = 0; // length of `out` that trailing-whitespace trimming must not cut into
    while (!this.done && !terminators.includes(this.text[this.pos]!)) {
      const c = this.text[this.pos++]!;
      if (c === '\\' && !this.done) {
        out += this.text[this.pos++];
        keep = out.length;
      } else if (c === "'") {
        while (!this.done && this.text[this.pos] !== "'") out += this.text[this.pos++];
        if (!this.done) {
          this.pos++;
          keep = out.length;
        }
      } else out += c;
    }
    let end = out.length;
    while (end > keep && WHITESPACE.includes(out[end - 1]!)) end--;
    return out.slice(0, end);
  }
}

/** Parses a filtergraph; throws FiltergraphSyntaxError where ffmpeg would fail to parse. */
export function parseFiltergraph(text: string): Filtergraph {
  const cur = new Cursor(text);
  const graph: Filtergraph = { chains: [] };
  cur.skipWhitespace();
  if (text.startsWith('sws_flags=', cur.pos)) {
    const end = text.indexOf(';', cur.pos);
    if (end < 0) throw new FiltergraphSyntaxError('sws_flags is not terminated with ";"', cur.pos);
    graph.swsFlags = text.slice(cur.pos + 'sws_flags='.length, end);
    cur.pos = end + 1;
  }
  let chain: FilterNode[] = [];
  graph.chains.push(chain);
  for (;;) {
    cur.skipWhitespace();
    const inputs = labels(cur);
    const start = cur.pos;
    const fullName = cur.token('=,;[');
    if (fullName === '') throw new FiltergraphSyntaxError('a filter has no name', start);
    let rawArgs: string | undefined;
    if (cur.peek() === '=') {
      cur.pos++;
      rawArgs = cur.token('[],;');
    }
    const outputs = labels(cur);
    const at = fullName.indexOf('@');
    const node: FilterNode = {
      name: at < 0 ? fullName : fullName.slice(0, at),
      args: rawArgs === undefined ? [] : parseFilterArgs(rawArgs),
      inputs,
      outputs,
    };
    if (at >= 0) node.instance = fullName.slice(at + 1);
    chain.push(node);
    cur.skipWhitespace();
    const sep = cur.peek();
    if (sep === undefined) return graph;
    cur.pos++;
    if (sep === ';') {
      chain = [];
      graph.chains.push(chain);
    } else if (sep !== ',') {
      throw new FiltergraphSyntaxError(`unexpected "${sep}" after filter "${fullName}"`, cur.pos - 1);
    }
  }
}

function labels(cur: Cursor): string[] {
  const found: string[] = [];
  while (cur.peek() === '[') {
    const start = cur.pos;
    cur.pos++;
    const name = cur.token(']');
    if (name === '') throw new FiltergraphSyntaxError('empty link label', start);
    if (cur.peek() !== ']') throw new FiltergraphSyntaxError('unterminated "[" link label', start);
    cur.pos++;
    found.push(name);
    cur.skipWhitespace();
  }
  return found;
}

// Characters libavutil accepts in an option key (`is_key_char`).
const KEY_CHAR = /[A-Za-z0-9_./-]/;

/**
 * Splits a filter's argument string into options the way `av_opt_get_key_value` does:
 * a key is a run of key characters followed by `=`; otherwise the whole entry is a
 * positional value.
 */
export function parseFilterArgs(args: string): FilterArg[] {
  const result: FilterArg[] = [];
  const cur = new Cursor(args);
  while (!cur.done) {
    const entryStart = cur.pos;
    cur.skipWhitespace();
    let key: string | undefined;
    let p = cur.pos;
    while (p < args.length && KEY_CHAR.test(args[p]!)) p++;
    const keyEnd = p;
    while (p < args.length && WHITESPACE.includes(args[p]!)) p++;
    if (args[p] === '=') {
      key = args.slice(cur.pos, keyEnd);
      cur.pos = p + 1;
    } else cur.pos = entryStart;
    const value = cur.token(':');
    result.push(key === undefined ? { value } : { key, value });
    if (!cur.done) cur.pos++; // the ':' separator
  }
  return result;
}

/** Where a filtergraph came from, for error messages and input-label checks. */
export interface FiltergraphContext {
  field: string;
  /** The option that carries the graph, e.g. `-vf` or `-filter_complex`. */
  option: string;
  inputCount: number;
}

const NAME = /^[A-Za-z0-9_]+$/;
const OPTION_KEY = /^[A-Za-z0-9_-]+$/;
const LABEL = /^[A-Za-z0-9_.:]+$/;

/**
 * Parses a filtergraph and refuses any filter that is not in the filter table, any option
 * that names a file, and any value that is a URL or a path outside the work dir.
 */
export function checkFiltergraph(text: string, ctx: FiltergraphContext): Filtergraph {
  const shown = text.length > 120 ? `${text.slice(0, 117)}...` : text;
  const refuse = (why: string, details: Record<string, unknown> = {}): never => {
    throw new UnsafeJobError(`${ctx.field}: ${ctx.option} "${shown}" is refused: ${why}`, {
      field: ctx.field,
      token: ctx.option,
      value: text,
      ...details,
    });
  };
  let graph: Filtergraph;
  try {
    graph = parseFiltergraph(text);
  } catch (err) {
    if (!(err instanceof FiltergraphSyntaxError)) throw err;
    return refuse(`not a valid filtergraph: ${err.message} (at character ${err.position})`);
  }
  if (graph.swsFlags !== undefined && !/^[A-Za-z0-9_+-]*$/.test(graph.swsFlags)) {
    refuse(`sws_flags "${graph.swsFlags}" is not a list of scaler flags`);
  }
  for (const node of graph.chains.flat()) {
    const filter = node.name;
    const refusedWhy = REFUSED_FILTERS[filter];
    if (refusedWhy !== undefined) refuse(`the ${filter} filter is not allowed: ${refusedWhy}`, { filter });
    const fileOptions = FILE_OPTION_FILTERS[filter];
    if (!NAME.test(filter) || (!ALLOWED_FILTERS.has(filter) && fileOptions === undefined)) {
      refuse(
        `"${filter}" is not a filter ffleet accepts (see "Extending what is accepted" in docs/security.md)`,
        {
          filter,
        },
      );
    }
    if (node.instance !== undefined && !NAME.test(node.instance)) {
      refuse(`filter instance name "${node.instance}" must be letters, digits and _`, { filter });
    }
    for (const label of [...node.inputs, ...node.outputs]) {
      if (!LABEL.test(label) || referenceProblem(label)) {
        refuse(`link label "[${label}]" must be letters, digits, _ . and : (and no protocol)`, { filter });
      }
      const input = /^(\d+)(:|$)/.exec(label);
      if (input && Number(input[1]) >= ctx.inputCount) {
        refuse(`link label "[${label}]" refers to input ${input[1]}, but the job has ${ctx.inputCount}`, {
          filter,
        });
      }
    }
    for (const arg of node.args) {
      if (arg.key !== undefined) {
        if (arg.key.startsWith('/')) {
          refuse(`"${filter}" option "${arg.key}" would load its value from a file`, {
            filter,
            option: arg.key,
          });
        }
        if (!OPTION_KEY.test(arg.key))
          refuse(`"${filter}" option name "${arg.key}" is not valid`, { filter });
        if (fileOptions?.includes(arg.key)) {
          refuse(`the ${filter} option "${arg.key}" names a file`, { filter, option: arg.key });
        }
      } else if (fileOptions !== undefined) {
        refuse(
          `${filter} takes only key=value options here, because a positional value can name a file ` +
            `(its file options: ${fileOptions.join(', ')})`,
          { filter },
        );
      }
      const problem = referenceProblem(arg.value);
      if (problem) refuse(`${filter} ${arg.key ?? 'value'} "${arg.value}": ${problem}`, { filter });
    }
  }
  return graph;
}
