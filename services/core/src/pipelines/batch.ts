/**
 * Batches: one job template over many inputs. A batch names its inputs (a list of URLs, or
 * an S3 prefix the gateway lists), and output URL patterns with placeholders; every input
 * becomes an ordinary job of its own, and the batch keeps the count and writes a manifest.
 */
import { posix } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { FfleetError, InvalidJobError } from '../errors.ts';
import { JobOutputSchema, type JobSpec, JobSpecSchema, LIMITS } from '../jobs/spec.ts';
import { type ValidatedJob, validateJob } from '../jobs/validate.ts';
import type { PoolRegistry } from '../pools/registry.ts';
import { baseName, formatStorageUrl, parseStorageUrl, type UrlPolicy } from '../storage/url.ts';

/** The most items one batch may hold. */
export const MAX_BATCH_ITEMS = 10_000;

const template = JobSpecSchema.properties;

export const BatchSpecSchema = Type.Object(
  {
    name: template.name,
    compute: template.compute,
    instanceType: template.instanceType,
    items: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: LIMITS.urlLength }), {
        minItems: 1,
        maxItems: MAX_BATCH_ITEMS,
        description: 'Input URLs, one job each',
      }),
    ),
    itemsFrom: Type.Optional(
      Type.Object(
        {
          prefix: Type.String({
            minLength: 1,
            maxLength: LIMITS.urlLength,
            pattern: '/$',
            description: 'A folder URL (ending in /) whose objects are the inputs, listed by the gateway',
          }),
          suffix: Type.Optional(
            Type.String({
              maxLength: 32,
              pattern: '^[A-Za-z0-9._-]*$',
              description: 'Only keys ending in this, e.g. .mov',
            }),
          ),
          max: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: MAX_BATCH_ITEMS,
              description: `Refuse the batch when the prefix holds more matching objects (default ${MAX_BATCH_ITEMS})`,
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    inputOptions: template.globalOptions,
    globalOptions: template.globalOptions,
    outputs: Type.Array(JobOutputSchema, {
      minItems: 1,
      maxItems: LIMITS.outputs,
      description:
        'Output URL patterns: {stem} (input file name without extension), {name} (file name), {ext}, ' +
        '{index} (position in the batch, from 0) and {path} (the key below the listed prefix, without extension)',
    }),
    quality: template.quality,
    priority: template.priority,
    timeoutSeconds: template.timeoutSeconds,
    attempts: template.attempts,
    webhook: template.webhook,
    idempotencyKey: template.idempotencyKey,
  },
  { additionalProperties: false },
);
export type BatchSpec = Static<typeof BatchSpecSchema>;

export interface BatchItem {
  index: number;
  /** The item's own job spec: the template with its input and outputs filled in. */
  spec: JobSpec;
}

const PLACEHOLDER = /\{([a-z]+)\}/g;
const HAS_PLACEHOLDER = /\{[a-z]+\}/;
/** Any batch id: where a manifest goes depends on the outputs, not on the id. */
const MANIFEST_CHECK_ID = '00000000-0000-0000-0000-000000000000';
const PLACEHOLDERS = new Set(['stem', 'name', 'ext', 'index', 'path']);

/**
 * The jobs of a batch. The template is checked in full (pool, command model) once, each
 * item's URLs on their own; two items writing the same output are refused.
 */
export function planBatch(
  batch: BatchSpec,
  inputs: readonly string[],
  pools: PoolRegistry,
  policy: UrlPolicy,
  listedPrefix?: string,
): { items: BatchItem[]; template: ValidatedJob } {
  if (inputs.length === 0) throw new FfleetError('empty_batch', 'the batch has no inputs', 400);
  if (inputs.length > MAX_BATCH_ITEMS)
    throw new InvalidJobError(`a batch holds at most ${MAX_BATCH_ITEMS} items, got ${inputs.length}`);
  for (const output of batch.outputs) {
    for (const [, name] of output.url.matchAll(PLACEHOLDER))
      if (!PLACEHOLDERS.has(name!))
        throw new InvalidJobError(
          `outputs: unknown placeholder {${name}}; use ${[...PLACEHOLDERS].map((p) => `{${p}}`).join(', ')}`,
        );
  }
  if (inputs.length > 1 && !batch.outputs.some((o) => HAS_PLACEHOLDER.test(o.url)))
    throw new InvalidJobError(
      'outputs: with more than one input, an output URL needs a placeholder such as {stem}',
    );
  const items = inputs.map((input, index) => ({ index, spec: itemSpec(batch, input, index, listedPrefix) }));
  const template = validateJob(items[0]!.spec, pools, policy);
  // The manifest is written too: beside the outputs, under the same rules (a token's prefixes).
  parseStorageUrl(manifestUrls(batch, MANIFEST_CHECK_ID).json, policy);
  const written = new Map<string, number>();
  for (const item of items) {
    parseStorageUrl(item.spec.inputs[0]!.url, policy);
    for (const output of item.spec.outputs) {
      const url = formatStorageUrl(parseStorageUrl(output.url, policy));
      const other = written.get(url);
      if (other !== undefined)
        throw new FfleetError(
          'duplicate_output',
          `items ${other} and ${item.index} would both write ${url}; add {stem}, {path} or {index} to the output URL`,
          400,
          { url, items: [other, item.index] },
        );
      written.set(url, item.index);
    }
  }
  return { items, template };
}

function itemSpec(batch: BatchSpec, input: string, index: number, listedPrefix?: string): JobSpec {
  const fill = fillerFor(input, index, listedPrefix);
  const spec: JobSpec = {
    name: batch.name,
    compute: batch.compute,
    inputs: [{ url: input, ...(batch.inputOptions ? { options: batch.inputOptions } : {}) }],
    outputs: batch.outputs.map((o) => ({
      ...o,
      url: o.url.replace(PLACEHOLDER, (_, p: string) => fill[p]!),
    })),
  };
  for (const key of [
    'instanceType',
    'globalOptions',
    'quality',
    'priority',
    'timeoutSeconds',
    'attempts',
  ] as const)
    if (batch[key] !== undefined) (spec as Record<string, unknown>)[key] = batch[key];
  return spec;
}

function fillerFor(input: string, index: number, listedPrefix?: string): Record<string, string> {
  let name: string;
  try {
    name = baseName(parseStorageUrl(input));
  } catch (error) {
    throw new InvalidJobError(`items[${index}]: ${(error as Error).message}`, { index, url: input });
  }
  const ext = posix.extname(name);
  const keyPath =
    listedPrefix && input.startsWith(listedPrefix) ? input.slice(listedPrefix.length) : urlPath(input);
  return {
    name,
    stem: ext ? name.slice(0, -ext.length) : name,
    ext: ext.slice(1),
    index: String(index),
    path: posix.extname(keyPath) ? keyPath.slice(0, -posix.extname(keyPath).length) : keyPath,
  };
}

/** The key of an s3:// URL (or the path of a file:// URL). */
function urlPath(url: string): string {
  return url.replace(/^[a-z0-9]+:\/\/\/?[^/]*\//i, '');
}

/** Where a batch's manifest goes: beside the first output pattern's fixed folder. */
export function manifestUrls(batch: BatchSpec, batchId: string): { json: string; csv: string } {
  const pattern = batch.outputs[0]!.url;
  const fixed = pattern.slice(
    0,
    pattern.search(PLACEHOLDER) >= 0 ? pattern.search(PLACEHOLDER) : pattern.length,
  );
  const folder = fixed.slice(0, fixed.lastIndexOf('/') + 1);
  const base = `${folder}${batch.name}-${batchId}.manifest`;
  return { json: `${base}.json`, csv: `${base}.csv` };
}

export type BatchItemState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface ManifestItem {
  index: number;
  jobId: string;
  input: string;
  state: BatchItemState;
  outputs: { url: string; bytes?: number }[];
  error?: { code: string; message: string };
}

/** The manifest's CSV: one row per output of every item (items without outputs get one row). */
export function manifestCsv(items: readonly ManifestItem[]): string {
  const rows = [['index', 'job_id', 'input', 'state', 'output', 'bytes', 'error_code', 'error_message']];
  for (const item of items) {
    const outputs = item.outputs.length > 0 ? item.outputs : [{ url: '', bytes: undefined }];
    for (const output of outputs)
      rows.push([
        String(item.index),
        item.jobId,
        item.input,
        item.state,
        output.url,
        output.bytes === undefined ? '' : String(output.bytes),
        item.error?.code ?? '',
        item.error?.message ?? '',
      ]);
  }
  return `${rows.map((row) => row.map(csvField).join(',')).join('\n')}\n`;
}

/** A CSV cell; one a spreadsheet would read as a formula is prefixed with `'`. */
function csvField(value: string): string {
  const cell = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}
