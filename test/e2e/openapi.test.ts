/**
 * The gateway's OpenAPI document, generated from its routes with tokens off and on, passes
 * Spectral's OpenAPI ruleset (.spectral.yaml extends spectral:oas) without a single warning:
 * every operation has an operationId, a description and declared tags, and with tokens on every
 * protected operation documents its 401.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadFleetConfig } from '@ffleet/core';
import { buildGateway } from '@ffleet/gateway';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../../scripts/lib/stack.ts';

const exec = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const SPECTRAL = join(ROOT, 'node_modules/.bin/spectral');
const RULESET = join(ROOT, '.spectral.yaml');
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

interface Operation {
  operationId?: string;
  tags?: string[];
  responses: Record<string, unknown>;
}
interface Document {
  tags?: { name: string; description?: string }[];
  security?: unknown[];
  paths: Record<string, Record<string, Operation>>;
}
interface Finding {
  code: string;
  message: string;
  severity: number;
  path: string[];
}

let stack: Stack;
let dir: string;

beforeAll(async () => {
  stack = await startStack();
  dir = await mkdtemp(join(tmpdir(), 'ffleet-openapi-'));
});

afterAll(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function openapiDocument(apiTokens: string[]): Promise<Document> {
  const app = await buildGateway({ config: loadFleetConfig({ ...process.env, ...stack.env }), apiTokens });
  try {
    const response = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(response.statusCode).toBe(200);
    return response.json();
  } finally {
    await app.close();
  }
}

/** Spectral's findings on a document, at any severity (error, warning, info, hint). */
async function spectral(
  document: Document,
  name: string,
): Promise<{ exitCode: number; findings: Finding[] }> {
  const file = join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify(document));
  const args = ['lint', file, '--ruleset', RULESET, '--format', 'json', '--fail-severity', 'warn', '--quiet'];
  try {
    const { stdout } = await exec(SPECTRAL, args);
    return { exitCode: 0, findings: JSON.parse(stdout) };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number' || !failed.stdout) throw error;
    return { exitCode: failed.code, findings: JSON.parse(failed.stdout) };
  }
}

function operations(document: Document): [string, Operation][] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, operation]): [string, Operation] => [`${method.toUpperCase()} ${path}`, operation]),
  );
}

describe.each([
  { auth: 'off', tokens: [] },
  { auth: 'on', tokens: ['s3cret-token'] },
])('the OpenAPI document with tokens $auth', ({ tokens }) => {
  let document: Document;
  beforeAll(async () => {
    document = await openapiDocument(tokens);
  });

  it('passes Spectral without a warning', async () => {
    const { exitCode, findings } = await spectral(document, `tokens-${tokens.length}`);
    expect(findings).toEqual([]);
    expect(exitCode).toBe(0);
  });

  it('names and tags every operation, with each tag described once', () => {
    const declared = new Map((document.tags ?? []).map((tag) => [tag.name, tag.description]));
    const ops = operations(document);
    expect(ops.map(([name]) => name)).toEqual(
      expect.arrayContaining(['POST /v1/jobs', 'GET /v1/jobs/{id}', 'POST /batch/execute/{compute}']),
    );
    const ids = ops.map(([, op]) => op.operationId);
    expect(new Set(ids).size).toBe(ops.length);
    for (const [name, op] of ops) {
      expect(op.operationId, name).toMatch(/^[a-z][A-Za-z]+$/);
      expect(op.tags?.length, name).toBeGreaterThan(0);
      for (const tag of op.tags ?? []) expect(declared.get(tag), `${name}: tag ${tag}`).toBeTruthy();
    }
  });

  it(tokens.length ? 'documents the 401 of every protected operation' : 'documents no 401', () => {
    for (const [name, op] of operations(document)) {
      expect(Object.keys(op.responses).includes('401'), name).toBe(tokens.length > 0);
    }
    expect(document.security).toEqual(tokens.length ? [{ bearer: [] }] : []);
  });
});

describe('the Spectral check', () => {
  it('fails on a document with an operation that has no operationId', async () => {
    const document = await openapiDocument([]);
    delete document.paths['/v1/jobs']!.post!.operationId;
    const { exitCode, findings } = await spectral(document, 'no-operation-id');
    expect(exitCode).not.toBe(0);
    expect(findings).toEqual([
      expect.objectContaining({ code: 'operation-operationId', path: ['paths', '/v1/jobs', 'post'] }),
    ]);
  });
});
