import { InvalidJobError } from '../errors.ts';

/**
 * Bounds on the shape of a request body, checked before the schema: a job body is a few
 * levels deep and a few dozen values, so anything far larger is refused cheaply. The
 * gateway also passes `bodyBytes` to Fastify as its `bodyLimit`.
 */
export const JSON_LIMITS = {
  /** Bytes of JSON in one request body. */
  bodyBytes: 256 * 1024,
  /** Nesting depth (a job body is 4 deep: body > outputs > [0] > options). */
  depth: 8,
  /** Objects, arrays and values in one body. */
  nodes: 4096,
  /** Keys in one object. */
  keys: 64,
} as const;

export type JsonLimits = { [K in keyof typeof JSON_LIMITS]: number };

/** Throws InvalidJobError when a parsed body is deeper or larger than the limits. */
export function checkJsonLimits(body: unknown, limits: JsonLimits = JSON_LIMITS): void {
  let nodes = 0;
  // Iterative walk: a hostile body must not be able to overflow the stack.
  const pending: { value: unknown; depth: number; path: string }[] = [{ value: body, depth: 1, path: '/' }];
  while (pending.length > 0) {
    const { value, depth, path } = pending.pop()!;
    if (++nodes > limits.nodes) {
      throw new InvalidJobError(`request body has more than ${limits.nodes} values`, { limit: limits.nodes });
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth > limits.depth) {
      throw new InvalidJobError(`request body is nested deeper than ${limits.depth} levels at ${path}`, {
        limit: limits.depth,
        path,
      });
    }
    const entries = Array.isArray(value)
      ? value.map((v, i) => [String(i), v] as const)
      : Object.entries(value);
    if (!Array.isArray(value) && entries.length > limits.keys) {
      throw new InvalidJobError(`object at ${path} has more than ${limits.keys} keys`, {
        limit: limits.keys,
        path,
      });
    }
    for (const [key, child] of entries) {
      pending.push({ value: child, depth: depth + 1, path: `${path === '/' ? '' : path}/${key}` });
    }
  }
}

/** Parses a JSON body of at most `limits.bodyBytes` bytes and checks its shape. */
export function parseJsonWithLimits(text: string, limits: JsonLimits = JSON_LIMITS): unknown {
  if (Buffer.byteLength(text) > limits.bodyBytes) {
    throw new InvalidJobError(`request body is larger than ${limits.bodyBytes} bytes`, {
      limit: limits.bodyBytes,
    });
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new InvalidJobError(`request body is not valid JSON: ${(err as Error).message}`);
  }
  checkJsonLimits(body, limits);
  return body;
}
