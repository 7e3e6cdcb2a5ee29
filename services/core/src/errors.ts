import { Type } from '@sinclair/typebox';

/**
 * What every error ffleet raises on purpose says about itself: a stable `code` (a failed job's
 * `error.code`) and whether retrying could ever fix it. Errors that do not say (network,
 * S3 5xx, Redis) are accidents of the moment: `transient`, and retried.
 */
export interface SelfDescribingError {
  readonly code: string;
  readonly permanent: boolean;
}

/** The code of an error and whether it is permanent; `transient` and retryable unless it says. */
export function classifyError(error: unknown): SelfDescribingError {
  const e = error as Partial<SelfDescribingError> | null | undefined;
  return typeof e?.permanent === 'boolean' && typeof e.code === 'string'
    ? { code: e.code, permanent: e.permanent }
    : { code: 'transient', permanent: false };
}

/**
 * Errors a caller can cause carry an HTTP status and a stable code, so the gateway can
 * answer `{error, message, details}`. Retrying never fixes them (4xx), unless the status
 * says the fault is on ffleet's side (5xx).
 */
export class FfleetError extends Error implements SelfDescribingError {
  readonly code: string;
  readonly status: number;
  readonly details: unknown;
  readonly permanent: boolean;

  constructor(code: string, message: string, status = 400, details?: unknown) {
    super(message);
    this.name = 'FfleetError';
    this.code = code;
    this.status = status;
    this.details = details;
    this.permanent = status < 500;
  }
}

/** A job whose command or URLs are unsafe or invalid: never retried, never run. */
export class UnsafeJobError extends FfleetError {
  constructor(message: string, details?: unknown) {
    super('unsafe_job', message, 400, details);
    this.name = 'UnsafeJobError';
  }
}

export class InvalidJobError extends FfleetError {
  constructor(message: string, details?: unknown) {
    super('invalid_job', message, 400, details);
    this.name = 'InvalidJobError';
  }
}

/** A refusal the caller fixes by coming back later: the gateway answers it with `Retry-After`. */
export class RetryLaterError extends FfleetError {
  readonly retryAfterSeconds: number;

  constructor(code: string, message: string, status: number, retryAfterSeconds: number, details?: unknown) {
    super(code, message, status, details);
    this.name = 'RetryLaterError';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * A dependency the request needs (Redis) is away: 503 with `Retry-After`, so clients and
 * probes get a fast, clear answer and come back later. Transient: retrying fixes it.
 */
export class UnavailableError extends RetryLaterError {
  constructor(message: string, retryAfterSeconds = 2) {
    super('unavailable', message, 503, retryAfterSeconds);
    this.name = 'UnavailableError';
  }
}

/** The caller's token may not do this (a prefix outside its scope, another token's job): 403. */
export class ForbiddenError extends FfleetError {
  constructor(message: string, details?: unknown) {
    super('forbidden', message, 403, details);
    this.name = 'ForbiddenError';
  }
}

/**
 * The fleet takes no more of this now (a pool's queue is full, the caller's rate limit is
 * reached): 429 with `Retry-After`.
 */
export class TooBusyError extends RetryLaterError {
  constructor(code: string, message: string, retryAfterSeconds: number, details?: unknown) {
    super(code, message, 429, retryAfterSeconds, details);
    this.name = 'TooBusyError';
  }
}

/** How every error leaves the gateway, and what the CLI reads from a failed request. */
export const ErrorBodySchema = Type.Object(
  {
    error: Type.String({ description: 'A stable code: invalid_job, unsafe_job, not_found, unauthorized, …' }),
    message: Type.String({ description: 'What went wrong, for people' }),
    details: Type.Unknown({
      description: 'What the code needs to say more (the problems found, what is available)',
    }),
  },
  { description: 'An error' },
);
