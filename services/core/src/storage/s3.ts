import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { FfleetError } from '../errors.ts';
import { InputMissingError, type ObjectStore, StorageAccessError } from './storage.ts';
import { formatStorageUrl, type StorageUrl } from './url.ts';

export interface S3Settings {
  /** Custom endpoint for S3-compatible servers (MinIO, versitygw); unset for AWS. */
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  /** Static keys; unset uses the SDK's default chain (IRSA on EKS). */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Multipart part size in bytes for uploads. */
  partSize: number;
}

export function createS3Client(settings: S3Settings): S3Client {
  const config: S3ClientConfig = {
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    // Retries with backoff inside the SDK for throttling and 5xx; the job retries on top.
    maxAttempts: 3,
  };
  if (settings.endpoint) config.endpoint = settings.endpoint;
  if (settings.accessKeyId && settings.secretAccessKey) {
    config.credentials = { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey };
  }
  return new S3Client(config);
}

export class S3Store implements ObjectStore {
  readonly client: S3Client;
  readonly #partSize: number;

  constructor(settings: S3Settings, client = createS3Client(settings)) {
    this.client = client;
    this.#partSize = Math.max(settings.partSize, 5 * 1024 * 1024);
  }

  async download(url: StorageUrl, destination: string, signal?: AbortSignal): Promise<number> {
    const { bucket, key } = s3(url);
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), {
        abortSignal: signal,
      });
      await pipeline(response.Body as Readable, createWriteStream(destination), { signal });
      return (await stat(destination)).size;
    } catch (error) {
      throw classify(error, url);
    }
  }

  async upload(source: string, url: StorageUrl, signal?: AbortSignal): Promise<number> {
    const { bucket, key } = s3(url);
    const size = (await stat(source)).size;
    try {
      const upload = new Upload({
        client: this.client,
        params: { Bucket: bucket, Key: key, Body: createReadStream(source), ContentLength: size },
        partSize: this.#partSize,
        queueSize: 4,
        leavePartsOnError: false,
      });
      signal?.addEventListener('abort', () => void upload.abort(), { once: true });
      await upload.done();
      return size;
    } catch (error) {
      throw classify(error, url);
    }
  }

  async remove(url: StorageUrl): Promise<void> {
    const { bucket, key } = s3(url);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (error) {
      throw classify(error, url);
    }
  }

  /**
   * The keys under a folder URL ending in `suffix`, in key order; throws when there are more
   * than `max` (the caller's cap), having listed at most one page past it.
   */
  async list(folder: StorageUrl, max: number, suffix = ''): Promise<string[]> {
    const { bucket, key: prefix } = s3(folder);
    const keys: string[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const object of page.Contents ?? [])
          if (object.Key?.endsWith(suffix) && !object.Key.endsWith('/')) keys.push(object.Key);
        if (keys.length > max) throw new TooManyObjectsError(formatStorageUrl(folder), max);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (error) {
      throw error instanceof TooManyObjectsError ? error : classify(error, folder);
    }
    return keys;
  }

  /** A presigned PUT URL so a client can upload an input without S3 credentials. */
  presignPut(url: StorageUrl, expiresInSeconds: number, contentType?: string): Promise<string> {
    const { bucket, key } = s3(url);
    return getSignedUrl(
      this.client,
      new PutObjectCommand({ Bucket: bucket, Key: key, ContentType: contentType }),
      {
        expiresIn: expiresInSeconds,
      },
    );
  }
}

/** A listing holds more objects than the caller allows. */
export class TooManyObjectsError extends FfleetError {
  constructor(folder: string, max: number) {
    super('too_many_inputs', `${folder} holds more than ${max} matching objects`, 400, { max });
  }
}

function s3(url: StorageUrl): { bucket: string; key: string } {
  if (url.scheme !== 's3') throw new Error(`S3Store cannot handle ${url.scheme} URLs`);
  return { bucket: url.bucket, key: url.key };
}

/** Missing objects and refused access are permanent; everything else may be retried. */
function classify(error: unknown, url: StorageUrl): Error {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  if (e.name === 'NoSuchKey' || e.name === 'NotFound' || status === 404) {
    if (e.name === 'NoSuchBucket')
      return new StorageAccessError(`bucket does not exist: ${formatStorageUrl(url)}`, error);
    return new InputMissingError(formatStorageUrl(url), error);
  }
  if (e.name === 'NoSuchBucket')
    return new StorageAccessError(`bucket does not exist: ${formatStorageUrl(url)}`, error);
  if (e.name === 'AccessDenied' || status === 403) {
    return new StorageAccessError(`access denied to ${formatStorageUrl(url)}`, error);
  }
  return error instanceof Error ? error : new Error(String(error));
}
