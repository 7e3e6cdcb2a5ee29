import { UnsafeJobError } from '../errors.ts';

/**
 * Splits an option string into tokens the way a POSIX shell splits words, with none of a
 * shell's power: no variables, globs, command substitution, redirection or `~`. Quotes
 * group (`'…'` literally, `"…"` with `\"` and `\\` escapes), a backslash outside quotes
 * escapes the next character. The result goes straight into argv; no shell ever runs.
 */
export function tokenize(options: string | undefined, field = 'options'): string[] {
  if (options === undefined) return [];
  const tokens: string[] = [];
  let current = '';
  let inToken = false;
  let quote: "'" | '"' | null = null;

  for (let i = 0; i < options.length; i++) {
    const ch = options[i]!;
    const code = ch.charCodeAt(0);
    if (code < 0x20 && ch !== '\t' && ch !== '\n' && ch !== '\r') {
      throw new UnsafeJobError(
        `${field} contains control character U+${code.toString(16).padStart(4, '0')}`,
        {
          field,
          position: i,
        },
      );
    }
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
  return tokens;
}
