import { type Static, Type } from '@sinclair/typebox';
import type { JobSpec } from './spec.ts';

/**
 * The body of the AWS "Batch with FFmpeg" sample's REST API, so its clients can switch to
 * ffleet unchanged. `input_url` may list several inputs, comma-separated.
 */
export const BatchExecuteBodySchema = Type.Object(
  {
    name: Type.Optional(Type.String({ maxLength: 128 })),
    global_options: Type.Optional(Type.String({ maxLength: 4096 })),
    input_file_options: Type.Optional(Type.String({ maxLength: 4096 })),
    input_url: Type.String({ minLength: 1, maxLength: 16 * 2048 }),
    output_file_options: Type.Optional(Type.String({ maxLength: 4096 })),
    output_url: Type.String({ minLength: 1, maxLength: 2048 }),
    instance_type: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type BatchExecuteBody = Static<typeof BatchExecuteBodySchema>;

export function batchExecuteToJobSpec(compute: string, body: BatchExecuteBody): JobSpec {
  const inputUrls = body.input_url
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  // The sample puts input_file_options before the first -i, so they apply to the first input.
  const inputs = inputUrls.map((url, i) =>
    i === 0 && body.input_file_options ? { url, options: body.input_file_options } : { url },
  );
  const spec: JobSpec = {
    name: body.name?.trim() || 'batch-execute',
    compute,
    inputs,
    outputs: [
      body.output_file_options
        ? { url: body.output_url, options: body.output_file_options }
        : { url: body.output_url },
    ],
  };
  if (body.global_options) spec.globalOptions = body.global_options;
  if (body.instance_type) spec.instanceType = body.instance_type;
  return spec;
}
