/**
 * The tokens file (FFLEET_API_TOKENS_FILE): named tokens, each optionally scoped to bucket
 * prefixes and given its own rate limit. A bad file stops the gateway with a message that
 * names the entry and never echoes a token.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ForbiddenError, parseStorageUrl } from '@ffleet/core';
import { loadGatewayConfig, parseTokensFile } from '@ffleet/gateway';
import { describe, expect, it } from 'vitest';

const SECRET = 'a-long-secret-token-value-1234';

describe('the tokens file', () => {
  it('reads named tokens with prefixes and rate limits, next to the plain ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ffleet-tokens-'));
    try {
      const file = join(dir, 'tokens.yaml');
      await writeFile(
        file,
        [
          'tokens:',
          '  - name: tenant-a',
          `    token: ${SECRET}`,
          '    prefixes: ["s3://media/tenant-a/", "s3://scratch/"]',
          '    rateLimit: 120',
          '  - name: ops',
          '    token: another-long-secret-token-1234',
          '',
        ].join('\n'),
      );
      const config = loadGatewayConfig({
        FFLEET_API_TOKENS: 'plain-token',
        FFLEET_API_TOKENS_FILE: file,
        FFLEET_RATE_LIMIT: '600',
      });
      expect(config.apiTokens.map((t) => t.name)).toEqual([
        expect.stringMatching(/^token-[0-9a-f]{12}$/),
        'tenant-a',
        'ops',
      ]);
      expect(config.apiTokens[1]).toEqual({
        name: 'tenant-a',
        token: SECRET,
        prefixes: ['s3://media/tenant-a/', 's3://scratch/'],
        rateLimit: 120,
      });
      expect(config.rateLimit).toEqual({ max: 600, windowSeconds: 60 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a bad entry naming where it is, without echoing the token', () => {
    const bad = (entry: string) => () => parseTokensFile(`tokens:\n  - ${entry}\n`, 'tokens.yaml');
    // A prefix must end in `/`: `s3://media/tenant-a` would also cover `s3://media/tenant-ab/`.
    expect(bad(`{name: a, token: ${SECRET}, prefixes: ["s3://media/tenant-a"]}`)).toThrow(
      /tokens\.yaml is invalid: \/tokens\/0\/prefixes\/0/,
    );
    expect(bad(`{name: A!, token: ${SECRET}}`)).toThrow(/\/tokens\/0\/name/);
    expect(bad('{name: short, token: abc}')).toThrow(/\/tokens\/0\/token/);
    expect(bad(`{name: a, token: ${SECRET}, admin: true}`)).toThrow(/tokens\.yaml is invalid/);
    for (const entry of [
      `{name: a, token: ${SECRET}, prefixes: ["s3://x"]}`,
      `{name: A!, token: ${SECRET}}`,
    ]) {
      expect(bad(entry)).toThrow(expect.objectContaining({ message: expect.not.stringContaining(SECRET) }));
    }
    expect(() =>
      parseTokensFile(
        `tokens:\n  - {name: a, token: ${SECRET}}\n  - {name: a, token: other-secret-token-5678}\n`,
      ),
    ).toThrow(/two tokens are named "a"/);
    expect(() =>
      parseTokensFile(`tokens:\n  - {name: a, token: ${SECRET}}\n  - {name: b, token: ${SECRET}}\n`),
    ).toThrow(/token "b" repeats another token/);
  });
});

describe('URLs under a token scoped to prefixes', () => {
  const policy = { allowedPrefixes: ['s3://media/tenant-a/'] };

  it('are allowed under a prefix and refused with 403 anywhere else', () => {
    expect(parseStorageUrl('s3://media/tenant-a/in/clip.mp4', policy)).toMatchObject({
      key: 'tenant-a/in/clip.mp4',
    });
    expect(parseStorageUrl('s3://media/tenant-a/out/', policy)).toMatchObject({ folder: true });
    for (const url of [
      's3://media/tenant-b/in/clip.mp4',
      's3://media/tenant-ab/clip.mp4',
      's3://other/tenant-a/clip.mp4',
      'file:///data/clip.mp4',
    ]) {
      expect(() => parseStorageUrl(url, { ...policy, allowFile: true }), url).toThrow(ForbiddenError);
    }
    // A key that climbs out is unsafe whatever the prefix says.
    expect(() => parseStorageUrl('s3://media/tenant-a/../tenant-b/x.mp4', policy)).toThrow(
      /"\.\." path segment/,
    );
  });
});
