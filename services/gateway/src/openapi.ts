import type { SwaggerOptions } from '@fastify/swagger';

/** The tags routes are filed under, each described once here. */
export const TAGS = {
  jobs: 'Submit FFmpeg jobs, follow them, list and cancel them',
  batches: 'One job template over many inputs: submit, follow the counts, page through the items, cancel',
  pools: 'Worker pools: queue depth, workers online and what their ffmpeg can do',
  uploads: 'Presigned uploads of new inputs',
  compatibility: "The AWS Batch-with-FFmpeg sample's request body, for its existing clients",
} as const;
export type Tag = keyof typeof TAGS;

/** The OpenAPI document's frame; the routes' schemas fill in its paths. */
export function openapiOptions(options: { auth: boolean }): SwaggerOptions {
  return {
    openapi: {
      info: {
        title: 'ffleet gateway',
        version: '1',
        description: 'Run FFmpeg jobs on a Kubernetes worker fleet',
        license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
        contact: { name: 'ffleet maintainers' },
      },
      servers: [{ url: '/', description: 'This gateway' }],
      tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: options.auth ? [{ bearer: [] }] : [],
    },
  };
}
