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

/**
 * A batch body: up to 10 000 input URLs (one value each) beside a job template, so more
 * values and bytes than a job; the same depth and keys.
 */
export const BATCH_JSON_LIMITS = {
  ...JSON_LIMITS,
  /** 10 000 URLs of about 400 bytes each. */
  bodyBytes: 4 * 1024 * 1024,
  nodes: 10_000 + JSON_LIMITS.nodes,
} as const;

export type JsonLimits = { [K in keyof typeof JSON_LIMITS]: number };

/** Throws InvalidJobError when a parsed body is deeper or larger than the limits. */
export function checkJsonLimits(body: unknown, limits: JsonLimits = JSON_LIMITS): void {
  // The keys from the root to the value being looked at, for error messages.
  const path: (string | number)[] = [];
  const at = () => `/${path.join('/')}`;
  let nodes = 0;
  // Recursive, but never deeper than `limits.depth`: a value past it is refused before its children.
  const visit = (value: unknown, depth: number): void => {
    if (++nodes > limits.nodes) {
      throw new InvalidJobError(`request body has more than ${limits.nodes} values`, { limit: limits.nodes });
    }
    if (value === null || typeof value !== 'object') return;
    if (depth > limits.depth) {
      throw new InvalidJobError(`request body is nested deeper than ${limits.depth} levels at ${at()}`, {
        limit: limits.depth,
        path: at(),
      });
    }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        path.push(i);
        visit(value[i], depth + 1);
        path.pop();
      }
      return;
    }
    let keys = 0;
    for (const _ in value) keys++;
    if (keys > limits.keys) {
      throw new InvalidJobError(`object at ${at()} has more than ${limits.keys} keys`, {
        limit: limits.keys,
        path: at(),
      });
    }
    for (const key in value) {
      path.push(key);
      visit((value as Record<string, unknown>)[key], depth + 1);
      path.pop();
    }
  };
  visit(body, 1);
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
