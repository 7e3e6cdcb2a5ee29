import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBodySchema, FfleetError, parseStorageUrl } from '@ffleet/core';
import { Type } from '@sinclair/typebox';
import { urlPolicyOf } from '../caller.ts';

/** `POST /v1/uploads`: a presigned PUT URL so clients upload inputs without S3 credentials. */
export const uploadRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/v1/uploads',
    {
      schema: {
        operationId: 'createUpload',
        summary: 'Presigned PUT URL for a new input object',
        description: 'The URL accepts one `PUT` of the object until it expires; no S3 credentials needed.',
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
            url: Type.String({ description: 'Where to PUT the object' }),
            method: Type.Literal('PUT'),
            target: Type.String({ description: 'The object, as a job input URL' }),
            expiresAt: Type.String({ description: 'ISO 8601 time, UTC' }),
          }),
          400: ErrorBodySchema,
        },
      },
    },
    async (request) => {
      const { url, contentType, expiresSeconds } = request.body;
      const target = parseStorageUrl(url, { ...urlPolicyOf(request), allowFile: false });
      if (target.folder)
        throw new FfleetError('invalid_request', 'an upload target must be an object, not a folder', 400);
      return {
        url: await app.s3.presignPut(target, expiresSeconds, contentType),
        method: 'PUT' as const,
        target: url,
        expiresAt: new Date(Date.now() + expiresSeconds * 1000).toISOString(),
      };
    },
  );
};
