import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { parse as parseYaml } from 'yaml';

/** A visible-ASCII bearer token without commas, as FFLEET_API_TOKENS takes them. */
export const TOKEN_PATTERN = '^[\\x21-\\x2b\\x2d-\\x7e]{1,512}$';

const ApiTokenSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^[a-z0-9][a-z0-9._-]{0,62}$',
      description: "recorded on the token's jobs",
    }),
    token: Type.String({ pattern: TOKEN_PATTERN, minLength: 16 }),
    prefixes: Type.Optional(
      Type.Array(
        Type.String({ pattern: '^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/([^\\s]*/)?$', maxLength: 1024 }),
        { minItems: 1, maxItems: 100 },
      ),
    ),
    rateLimit: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);
const TokensFileSchema = Type.Object(
  { tokens: Type.Array(ApiTokenSchema, { minItems: 1 }) },
  { additionalProperties: false },
);
const checkTokensFile = TypeCompiler.Compile(TokensFileSchema);

/**
 * An API token and what it may do: with `prefixes`, it reads, writes and presigns only under
 * them and sees only its own jobs; without, it may do anything. `rateLimit` overrides the
 * gateway's requests per window for this token.
 */
export type ApiToken = Static<typeof ApiTokenSchema>;

/** Who made a request: a token's name and scope, never the token. */
export type Caller = Omit<ApiToken, 'token'>;

/** A plain token of FFLEET_API_TOKENS: unscoped, named by a hash so its jobs can say who sent them. */
export function plainToken(token: string): ApiToken {
  return { name: `token-${createHash('sha256').update(token).digest('hex').slice(0, 12)}`, token };
}

/** The tokens of FFLEET_API_TOKENS_FILE: `tokens: [{name, token, prefixes?, rateLimit?}]` in YAML. */
export function parseTokensFile(text: string, source = 'tokens file'): ApiToken[] {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new Error(`${source} is not YAML: ${(error as Error).message}`);
  }
  if (!checkTokensFile.Check(data)) {
    // Never echo a value: a wrong entry may hold a real token.
    const problems = [...checkTokensFile.Errors(data)].slice(0, 5).map((e) => `${e.path}: ${e.message}`);
    throw new Error(`${source} is invalid: ${problems.join('; ')}`);
  }
  const names = new Set<string>();
  const tokens = new Set<string>();
  for (const entry of data.tokens) {
    if (names.has(entry.name)) throw new Error(`${source}: two tokens are named "${entry.name}"`);
    if (tokens.has(entry.token)) throw new Error(`${source}: token "${entry.name}" repeats another token`);
    names.add(entry.name);
    tokens.add(entry.token);
  }
  return data.tokens;
}

export function readTokensFile(path: string): ApiToken[] {
  return parseTokensFile(readFileSync(path, 'utf8'), path);
}
