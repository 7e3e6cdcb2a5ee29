import { UnsafeJobError } from '../errors.ts';

/**
 * Splits an option string into tokens the way a POSIX shell splits words, with none of a
 * shell's power: no variables, globs, command substitution, redirection or `~`. Quotes
 * group (`'…'` literally, `"…"` with `\"` and `\\` escapes), a backslash outside quotes
 * escapes the next character. The result goes straight into argv; no shell ever runs.
 *
 * Characters that make a string read differently to a person than to ffmpeg are refused
 * before splitting: control characters (NUL included), invisible format characters
 * (zero-width, bidi overrides), non-ASCII spaces, and tokens that begin with a dash
 * look-alike (U+2212 minus, U+2013 en dash, …) where an option name was surely meant.
 */
export function tokenize(options: string | undefined, field = 'options'): string[] {
  if (options === undefined) return [];
  checkCharacters(options, field);
  const tokens: string[] = [];
  let current = '';
  let inToken = false;
  let quote: "'" | '"' | null = null;

  for (let i = 0; i < options.length; i++) {
    const ch = options[i]!;
    if (quote === "'") {
      if (ch === "'") quote = null;
      else current += ch;
      continue;
    }
    if (quote === '"') {
      if (ch === '"') quote = null;
      else if (ch === '\\' && (options[i + 1] === '"' || options[i + 1] === '\\')) current += options[++i];
      else current += ch;
      continue;
    }
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      if (inToken) tokens.push(current);
      current = '';
      inToken = false;
      continue;
    }
    inToken = true;
    if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '\\') {
      if (i + 1 >= options.length) throw new UnsafeJobError(`${field} ends with a lone backslash`, { field });
      current += options[++i];
    } else current += ch;
  }
  if (quote) throw new UnsafeJobError(`${field} has an unterminated ${quote} quote`, { field });
  if (inToken) tokens.push(current);
  for (const token of tokens) checkLeadingDash(token, field);
  return tokens;
}

/** Characters that look like '-' but are not, so `–i` never reads as "not an option". */
const DASH_LOOKALIKES: Record<string, string> = {
  '\u2010': 'hyphen',
  '\u2011': 'non-breaking hyphen',
  '\u2012': 'figure dash',
  '\u2013': 'en dash',
  '\u2014': 'em dash',
  '\u2015': 'horizontal bar',
  '\u2043': 'hyphen bullet',
  '\u02d7': 'modifier letter minus',
  '\u2212': 'minus sign',
  '\u2796': 'heavy minus sign',
  '\ufe58': 'small em dash',
  '\ufe63': 'small hyphen-minus',
  '\uff0d': 'fullwidth hyphen-minus',
};

function codePoint(ch: string): string {
  return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

function checkCharacters(options: string, field: string): void {
  if (!options.isWellFormed()) {
    throw new UnsafeJobError(`${field} contains an unpaired UTF-16 surrogate`, { field });
  }
  for (let i = 0; i < options.length; i++) {
    const ch = options[i]!;
    const code = ch.charCodeAt(0);
    const refuse = (what: string): never => {
      throw new UnsafeJobError(`${field} contains ${what} ${codePoint(ch)} at position ${i}`, {
        field,
        position: i,
        character: codePoint(ch),
      });
    };
    if (code === 0) refuse('a NUL character');
    if ((code < 0x20 && ch !== '\t' && ch !== '\n' && ch !== '\r') || (code >= 0x7f && code <= 0x9f)) {
      refuse('control character');
    }
    if (code < 0x80) continue;
    // Invisible characters (zero-width, bidi overrides, soft hyphen, BOM) and line separators.
    if (/[\p{Cf}\u2028\u2029]/u.test(ch)) refuse('invisible format character');
    // Non-ASCII spaces would not split tokens, so `-c:v\u00a0copy` would become one word.
    if (/\p{Zs}/u.test(ch)) refuse('non-ASCII space');
    if (code === 0xfffe || code === 0xffff) refuse('noncharacter');
  }
}

function checkLeadingDash(token: string, field: string): void {
  const first = token[0];
  if (first !== undefined && DASH_LOOKALIKES[first] !== undefined) {
    throw new UnsafeJobError(
      `${field}: "${token}" starts with ${codePoint(first)} (${DASH_LOOKALIKES[first]}), not an ASCII "-"; ` +
        'options must be written with the ASCII hyphen-minus',
      { field, token, character: codePoint(first) },
    );
  }
}

/**
 * The inverse of `tokenize`: an option string that splits back into exactly these tokens.
 * Pipelines use it to hand checked options on to the jobs they create.
 */
export function quoteOptions(tokens: readonly string[]): string {
  return tokens
    .map((token) =>
      token !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(token) ? token : `'${token.replace(/'/g, `'\\''`)}'`,
    )
    .join(' ');
}
