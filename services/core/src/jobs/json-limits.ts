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

/** A value still to look at, with the way back to the root for error messages. */
interface Pending {
  value: unknown;
  depth: number;
  key: string | number;
  parent: Pending | undefined;
}

/** The JSON pointer of a pending value, built only when a limit is broken. */
function pathOf(entry: Pending): string {
  const keys: (string | number)[] = [];
  for (let at: Pending | undefined = entry; at?.parent; at = at.parent) keys.push(at.key);
  return `/${keys.reverse().join('/')}`;
}

/** Throws InvalidJobError when a parsed body is deeper or larger than the limits. */
export function checkJsonLimits(body: unknown, limits: JsonLimits = JSON_LIMITS): void {
  let nodes = 0;
  // Iterative walk: a hostile body must not be able to overflow the stack.
  const pending: Pending[] = [{ value: body, depth: 1, key: '', parent: undefined }];
  while (pending.length > 0) {
    const entry = pending.pop()!;
    if (++nodes > limits.nodes) {
      throw new InvalidJobError(`request body has more than ${limits.nodes} values`, { limit: limits.nodes });
    }
    const { value, depth } = entry;
    if (value === null || typeof value !== 'object') continue;
    if (depth > limits.depth) {
      const path = pathOf(entry);
      throw new InvalidJobError(`request body is nested deeper than ${limits.depth} levels at ${path}`, {
        limit: limits.depth,
        path,
      });
    }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        pending.push({ value: value[i], depth: depth + 1, key: i, parent: entry });
      }
      continue;
    }
    const keys = Object.keys(value);
    if (keys.length > limits.keys) {
      const path = pathOf(entry);
      throw new InvalidJobError(`object at ${path} has more than ${limits.keys} keys`, {
        limit: limits.keys,
        path,
      });
    }
    for (const key of keys) {
      pending.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1, key, parent: entry });
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
