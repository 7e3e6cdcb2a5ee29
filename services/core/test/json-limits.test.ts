import { describe, expect, it } from 'vitest';
import { checkJsonLimits, JSON_LIMITS, parseJsonWithLimits } from '../src/jobs/json-limits.ts';

describe('JSON limits', () => {
  it('accepts a job body', () => {
    const body = {
      name: 'clip',
      compute: 'intel',
      inputs: [{ url: 's3://media/in.mp4', options: '-ss 10' }],
      outputs: [{ url: 's3://media/out.mp4', options: '-t 15 -c copy' }],
      webhook: { url: 'https://example.com/hook', secret: 's' },
    };
    expect(() => checkJsonLimits(body)).not.toThrow();
    expect(parseJsonWithLimits(JSON.stringify(body))).toEqual(body);
  });

  it('refuses deep nesting before walking into it', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => checkJsonLimits({ name: deep })).toThrow(/nested deeper than 8 levels at \/name\/0\/0/);
    const text = `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
    expect(() => parseJsonWithLimits(text)).toThrow(/nested deeper than 8 levels/);
  });

  it('refuses too many values, too many keys and too many bytes', () => {
    expect(() => checkJsonLimits({ inputs: Array.from({ length: 5000 }, () => 1) })).toThrow(
      /more than 4096 values/,
    );
    expect(() =>
      checkJsonLimits(Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i]))),
    ).toThrow(/more than 64 keys/);
    expect(() => parseJsonWithLimits(JSON.stringify({ name: 'x'.repeat(JSON_LIMITS.bodyBytes) }))).toThrow(
      /larger than 262144 bytes/,
    );
    expect(() => parseJsonWithLimits('{"name":')).toThrow(/not valid JSON/);
  });
});
