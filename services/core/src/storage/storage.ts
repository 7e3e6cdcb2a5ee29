import type { SelfDescribingError } from '../errors.ts';
import type { StorageUrl } from './url.ts';

/** Where a job's inputs come from and its outputs go. */
export interface ObjectStore {
  /** Copies the object to a local file; throws InputMissingError when it does not exist. */
  download(url: StorageUrl, destination: string, signal?: AbortSignal): Promise<number>;
  /** Copies a local file to the object; returns bytes written. */
  upload(source: string, url: StorageUrl, signal?: AbortSignal): Promise<number>;
  /** Deletes the object; deleting one that is not there is not an error. */
  remove(url: StorageUrl): Promise<void>;
}

/** The object a job names does not exist: permanent, never retried. */
export class InputMissingError extends Error implements SelfDescribingError {
  readonly code = 'input_missing';
  readonly permanent = true;
  readonly url: string;
  constructor(url: string, cause?: unknown) {
    super(`input not found: ${url}`, { cause });
    this.name = 'InputMissingError';
    this.url = url;
  }
}

/** Storage refused access (wrong bucket, credentials): permanent. */
export class StorageAccessError extends Error implements SelfDescribingError {
  readonly code = 'storage_access';
  readonly permanent = true;
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'StorageAccessError';
  }
}

/**
 * Storage did not answer (network errors, 5xx, throttling) after the SDK's retries: transient,
 * so the job is tried again later within its `attempts`.
 */
export class StorageUnavailableError extends Error implements SelfDescribingError {
  readonly code = 'storage_unavailable';
  readonly permanent = false;
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'StorageUnavailableError';
  }
}
