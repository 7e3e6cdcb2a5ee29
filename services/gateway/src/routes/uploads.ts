import { FfleetError, type FleetConfig, parseStorageUrl, type S3Store } from '@ffleet/core';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorSchema } from '../schemas.ts';

/** `POST /v1/uploads`: a presigned PUT URL so clients upload inputs without S3 credentials. */
export async function uploadRoutes(
  app: FastifyInstance,
  opts: { config: FleetConfig; s3: S3Store },
): Promise<void> {
  app.post(
    '/v1/uploads',
    {
      schema: {
        summary: 'Presigned PUT URL for a new input object',
        tags: ['uploads'],
        body: Type.Object(
          {
            url: Type.String({ maxLength: 2048, description: 's3://bucket/key of the object to create' }),
            contentType: Type.Optional(Type.String({ maxLength: 100, pattern: '^[a-z]+/[A-Za-z0-9.+-]+$' })),
            expiresSeconds: Type.Integer({ minimum: 60, maximum: 86_400, default: 900 }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            url: Type.String(),
            method: Type.Literal('PUT'),
            target: Type.String(),
            expiresAt: Type.String(),
          }),
          400: ErrorSchema,
        },
      },
    },
    async (request) => {
      const body = request.body as { url: string; contentType?: string; expiresSeconds: number };
      const target = parseStorageUrl(body.url, { ...opts.config.urlPolicy, allowFile: false });
      if (target.folder)
        throw new FfleetError('invalid_request', 'an upload target must be an object, not a folder', 400);
      const url = await opts.s3.presignPut(target, body.expiresSeconds, body.contentType);
      return {
        url,
        method: 'PUT' as const,
        target: body.url,
        expiresAt: new Date(Date.now() + body.expiresSeconds * 1000).toISOString(),
      };
    },
  );
}
