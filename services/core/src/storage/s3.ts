import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';
import { FfleetError } from '../errors.ts';
import { contentTypeOf } from './content-types.ts';
import { BudgetRetryStrategy } from './retry-budget.ts';
import {
  InputMissingError,
  type ObjectStore,
  StorageAccessError,
  StorageUnavailableError,
} from './storage.ts';
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
  /**
   * How long a request may wait for a connection, or go without a byte moving, before it is
   * given up (and retried like any network error); unset: 120 s.
   */
  requestTimeoutMs?: number;
  /**
   * How long writes (uploads, their parts, deletes, aborts) keep retrying an S3 that does not
   * answer, in seconds; unset: a few quick tries, as every other request.
   */
  writeRetrySeconds?: number;
}

/** As the AWS SDKs before v3 waited on an idle socket. */
const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;

/** Parts of one upload in flight at once. */
const UPLOAD_QUEUE_SIZE = 4;

/** `retrySeconds`: retry for about that long (writes that ride out an outage); unset: 3 quick tries. */
export function createS3Client(settings: S3Settings, retrySeconds?: number): S3Client {
  const timeoutMs = settings.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const config: S3ClientConfig = {
    region: settings.region,
    forcePathStyle: settings.forcePathStyle,
    // Without these an S3 that takes the connection and never answers holds the request forever.
    requestHandler: { connectionTimeout: timeoutMs, socketTimeout: timeoutMs },
    // Retries with backoff inside the SDK for throttling, 5xx and network errors; the job retries on top.
    ...(retrySeconds === undefined ? { maxAttempts: 3 } : budget(retrySeconds)),
  };
  if (settings.endpoint) config.endpoint = settings.endpoint;
  if (settings.accessKeyId && settings.secretAccessKey) {
    config.credentials = { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey };
  }
  return new S3Client(config);
}

function budget(retrySeconds: number): S3ClientConfig {
  const retryStrategy = new BudgetRetryStrategy(retrySeconds);
  return { retryStrategy, maxAttempts: retryStrategy.delays.length + 1 };
}

export class S3Store implements ObjectStore {
  readonly client: S3Client;
  /** Uploads, deletes and aborts: the client that retries for `writeRetrySeconds`. */
  readonly #writer: S3Client;
  readonly #partSize: number;
  readonly #leftovers: LeftoverUploads;

  constructor(settings: S3Settings, client = createS3Client(settings)) {
    this.client = client;
    this.#writer =
      settings.writeRetrySeconds === undefined
        ? client
        : createS3Client(settings, settings.writeRetrySeconds);
    this.#partSize = Math.max(settings.partSize, 5 * 1024 * 1024);
    // Quick tries are enough: it tries again on its own timer, and a finished job waits on no more.
    this.#leftovers = new LeftoverUploads(client, (settings.writeRetrySeconds ?? 10) * 1000);
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

  /**
   * One object, whole or not at all, with the Content-Type its name says: a file of more than
   * one part goes up as a multipart upload, which S3 shows only once it is complete. One that fails is aborted (lib-storage does,
   * retrying like every write); when S3 is still away for that, the abort is tried again later.
   * Either way the uploads this write started at its key and did not complete are then looked
   * for and aborted (`LeftoverUploads`): one S3 created but whose reply was lost is known to no one else.
   */
  async upload(source: string, url: StorageUrl, signal?: AbortSignal): Promise<number> {
    const { bucket, key } = s3(url);
    const size = (await stat(source)).size;
    // A file no larger than the parts in flight at once is read whole, so lib-storage sends
    // slices of one buffer; from a stream it copies every chunk into its part, a third or more
    // of an upload's CPU. Memory stays as it was: lib-storage buffers that many parts anyway.
    const body =
      size <= this.#partSize * UPLOAD_QUEUE_SIZE ? await readFile(source) : createReadStream(source);
    const length = Buffer.isBuffer(body) ? body.length : size;
    const upload = new Upload({
      client: this.#writer,
      params: {
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentLength: length,
        ContentType: contentTypeOf(key),
      },
      partSize: this.#partSize,
      queueSize: UPLOAD_QUEUE_SIZE,
      leavePartsOnError: false,
    });
    // lib-storage PUTs a file of one part; anything larger is a multipart upload.
    const multipart = length > this.#partSize;
    const began = Date.now();
    const onAbort = () => void upload.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await upload.done();
      // Awaited, so that a job that has finished has left no upload at its key (S3 answering).
      const sweep = { Bucket: bucket, Key: key, from: began, to: Date.now(), keep: upload.uploadId };
      if (multipart) await this.#leftovers.sweep(sweep);
      return length;
    } catch (error) {
      // Not awaited: S3 is likely away, and the job need not wait to fail.
      const sweep = { Bucket: bucket, Key: key, from: began, to: Date.now(), failed: upload.uploadId };
      if (multipart) void this.#leftovers.sweep(sweep);
      throw classify(error, url);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async remove(url: StorageUrl): Promise<void> {
    const { bucket, key } = s3(url);
    try {
      await this.#writer.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
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

/**
 * Multipart uploads a write left behind at its key, found by listing it and aborted. Two kinds:
 * its own failed upload when lib-storage's abort of it failed too (S3 away), and one S3 created
 * but whose CreateMultipartUpload reply never came (S3 killed, or the connection cut, in between):
 * the SDK retried the create and the write went on with a second upload, so the first one's id
 * was never known here and only a listing finds it.
 *
 * A sweep lists exactly the write's key (Prefix, then Key ===: another key's uploads, another
 * job's, are never touched) and aborts those initiated while the write ran (give or take
 * CLOCK_TOLERANCE_MS for S3's clock), but the one it completed. A second writer of the same key at
 * the same moment (two attempts of one job) could lose its upload: it then fails as
 * `storage_unavailable` and is retried, never a wrong object. A sweep S3 does not answer is tried
 * again every `intervalMs` in the background until it does, for up to a day (an upload id is never
 * reused, so a late abort touches nothing else); a bucket lifecycle rule
 * (`AbortIncompleteMultipartUpload`) is the backstop for a worker that stops first, or for a role
 * not allowed to list uploads (`s3:ListBucketMultipartUploads`).
 */
class LeftoverUploads {
  readonly #client: S3Client;
  readonly #intervalMs: number;
  /** Sweeps S3 has not answered yet, with when they were first tried. */
  readonly #pending = new Map<Sweep, number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(client: S3Client, intervalMs: number) {
    this.#client = client;
    this.#intervalMs = Math.max(intervalMs, 1000);
  }

  /** Sweeps once now, and in the background until S3 answers when it does not. Never throws. */
  async sweep(sweep: Sweep): Promise<void> {
    if (await this.#try(sweep)) return;
    this.#pending.set(sweep, Date.now());
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer || this.#pending.size === 0) return;
    this.#timer = setTimeout(() => void this.#retryAll(), this.#intervalMs);
    // Never what keeps a stopping process alive.
    this.#timer.unref();
  }

  async #retryAll(): Promise<void> {
    for (const [sweep, since] of this.#pending) {
      if ((await this.#try(sweep)) || Date.now() - since > LEFTOVER_GIVE_UP_MS) this.#pending.delete(sweep);
    }
    this.#timer = undefined;
    this.#schedule();
  }

  /** Done: every upload found aborted (or already gone), or S3 will not let us. */
  async #try(sweep: Sweep): Promise<boolean> {
    const { Bucket, Key } = sweep;
    const abort = (UploadId: string) =>
      this.#client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch((error) => {
        // Already gone (aborted by lib-storage or an earlier round, or completed): done.
        if (!isNotFound(error)) throw error;
      });
    try {
      // Its own failed upload first, by id: that needs no permission to list.
      if (sweep.failed) await abort(sweep.failed);
      for (const UploadId of await this.#find(sweep)) await abort(UploadId);
      return true;
    } catch (error) {
      const status = (error as { $metadata?: SdkMetadata }).$metadata?.httpStatusCode;
      // No bucket (nothing to clean), or no permission to list (left to the lifecycle rule).
      return isNotFound(error) || status === 403;
    }
  }

  async #find({ Bucket, Key, from, to, keep }: Sweep): Promise<string[]> {
    const found: string[] = [];
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    do {
      const page = await this.#client.send(
        new ListMultipartUploadsCommand({ Bucket, Prefix: Key, KeyMarker, UploadIdMarker }),
      );
      for (const upload of page.Uploads ?? []) {
        const id = upload.UploadId;
        if (upload.Key !== Key || !id || id === keep) continue;
        const at = upload.Initiated?.getTime() ?? Number.NaN;
        if (at >= from - CLOCK_TOLERANCE_MS && at <= to + CLOCK_TOLERANCE_MS) found.push(id);
      }
      KeyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      UploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (KeyMarker);
    return found;
  }
}

/**
 * One write's leftovers: `failed`, the upload it gave up, and its key's uploads initiated from
 * `from` to `to` (this clock, in ms) but `keep`, the one it completed.
 */
type Sweep = { Bucket: string; Key: string; from: number; to: number; keep?: string; failed?: string };

/** How far S3's clock may be from this one; versitygw also gives whole seconds. */
const CLOCK_TOLERANCE_MS = 5000;
const LEFTOVER_GIVE_UP_MS = 24 * 3600 * 1000;

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: SdkMetadata };
  return e.name === 'NoSuchUpload' || e.name === 'NoSuchBucket' || e.$metadata?.httpStatusCode === 404;
}

type SdkError = Parameters<typeof isTransientError>[0];

/** What went wrong and how hard the SDK tried: `connect ECONNREFUSED … (6 tries over 15 s)`. */
function whatFailed(error: unknown): string {
  const e = error as { message?: string; name?: string; code?: string; $metadata?: SdkMetadata };
  const what = e.message || e.code || e.name || String(error);
  const tries = e.$metadata?.attempts;
  const waited = e.$metadata?.totalRetryDelay;
  return tries && tries > 1 ? `${what} (${tries} tries over ${Math.round((waited ?? 0) / 1000)} s)` : what;
}

type SdkMetadata = { httpStatusCode?: number; attempts?: number; totalRetryDelay?: number };

/**
 * Missing objects and refused access are permanent; a server that does not answer (network
 * errors, 5xx, throttling, after the SDK's retries) is `storage_unavailable`, retried later.
 */
function classify(error: unknown, url: StorageUrl): Error {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  // The multipart upload went away under it (a server that lost it): the whole upload again, later.
  if (e.name === 'NoSuchUpload')
    return new StorageUnavailableError(`the upload to ${formatStorageUrl(url)} was lost by S3`, error);
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
  if (
    isTransientError(error as SdkError) ||
    isThrottlingError(error as SdkError) ||
    isServerError(error as SdkError)
  )
    return new StorageUnavailableError(
      `S3 is unavailable for ${formatStorageUrl(url)}: ${whatFailed(error)}`,
      error,
    );
  return error instanceof Error ? error : new Error(String(error));
}
