import { Type } from '@sinclair/typebox';

/**
 * Errors a caller can cause carry an HTTP status and a stable code, so the gateway can
 * answer `{error, message, details}` and the worker can tell permanent failures from
 * transient ones.
 */
export class FfleetError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: unknown;

  constructor(code: string, message: string, status = 400, details?: unknown) {
    super(message);
    this.name = 'FfleetError';
    this.code = code;
    this.status = status;
    this.details = details;
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
