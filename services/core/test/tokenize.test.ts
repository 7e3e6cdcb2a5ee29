import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quoteOptions, tokenize } from '../src/ffmpeg/tokenize.ts';

describe('tokenize', () => {
  it('splits on whitespace and groups quoted words like a shell, without expanding anything', () => {
    expect(tokenize(`-vf "scale=1280:-2" -metadata 'title=My $HOME *'`)).toEqual([
      '-vf',
      'scale=1280:-2',
      '-metadata',
      'title=My $HOME *',
    ]);
    expect(tokenize('  -c:v\tcopy\n-an  ')).toEqual(['-c:v', 'copy', '-an']);
    expect(tokenize(`a"b c"'d'`)).toEqual(['ab cd']);
    expect(tokenize(String.raw`-x a\ b "q\"uote" "back\\slash" 'lit\eral'`)).toEqual([
      '-x',
      'a b',
      'q"uote',
      'back\\slash',
      'lit\\eral',
    ]);
    expect(tokenize(`-metadata title=""`)).toEqual(['-metadata', 'title=']);
    expect(tokenize(undefined)).toEqual([]);
  });

  it('refuses unterminated quotes and a trailing backslash', () => {
    expect(() => tokenize(`-vf "scale=1:1`, 'f')).toThrow(/unterminated " quote/);
    expect(() => tokenize(`-vf 'scale`, 'f')).toThrow(/unterminated ' quote/);
    expect(() => tokenize('-an \\', 'f')).toThrow(/lone backslash/);
  });

  it.each([
    ['NUL', '-c:v libx264\u0000-i', /NUL character U\+0000/],
    ['escape', '-c copy\u001b[2J', /control character U\+001B/],
    ['C1 control', '-c copy\u0085', /control character U\+0085/],
    ['zero-width space', '-fil\u200bter_script x', /invisible format character U\+200B/],
    ['right-to-left override', '-c copy \u202etxt.exe', /invisible format character U\+202E/],
    ['BOM', '\ufeff-an', /invisible format character U\+FEFF/],
    ['no-break space', '-c:v\u00a0copy', /non-ASCII space U\+00A0/],
    ['ideographic space', '-an\u3000-vn', /non-ASCII space U\+3000/],
    ['line separator', '-an\u2028-vn', /invisible format character U\+2028/],
    ['lone surrogate', '-an \ud800', /unpaired UTF-16 surrogate/],
  ])('refuses %s, naming the character and the field', (_, input, message) => {
    expect(() => tokenize(input, 'outputs[0].options')).toThrow(message);
    expect(() => tokenize(input, 'outputs[0].options')).toThrow(/outputs\[0\]\.options/);
  });

  it.each([
    ['\u2212i', 'U+2212 (minus sign)'],
    ['\u2013i', 'U+2013 (en dash)'],
    ['\u2014filter_script', 'U+2014 (em dash)'],
    ['\uff0di', 'U+FF0D (fullwidth hyphen-minus)'],
    ['\ufe63i', 'U+FE63 (small hyphen-minus)'],
    ['\u2010i', 'U+2010 (hyphen)'],
  ])('refuses the dash look-alike in "%s"', (token, what) => {
    expect(() => tokenize(`-c copy ${token} /etc/passwd`, 'f')).toThrow(
      `"${token}" starts with ${what}, not an ASCII "-"`,
    );
    // Quoting does not hide it either.
    expect(() => tokenize(`'${token}'`, 'f')).toThrow(/not an ASCII "-"/);
  });

  it('accepts non-ASCII text inside values', () => {
    expect(tokenize(`-metadata "title=Café – été 東京"`)).toEqual(['-metadata', 'title=Café – été 東京']);
  });
});

describe('quoteOptions', () => {
  it('writes tokens so that tokenize reads exactly them back', () => {
    expect(quoteOptions(['-vf', "drawtext=text='it''s':x=1", '-c:v', 'libx264', ''])).toBe(
      `-vf 'drawtext=text='\\''it'\\'''\\''s'\\'':x=1' -c:v libx264 ''`,
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.string({
            unit: fc.constantFrom(...'-_:;,.=/\\\'" []{}()$`*?~!#&|<>aZ09'.split('')),
            maxLength: 12,
          }),
          { maxLength: 8 },
        ),
        (tokens) => {
          expect(tokenize(quoteOptions(tokens))).toEqual(tokens);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
