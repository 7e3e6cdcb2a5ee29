import type { JobFailure, SelfDescribingError } from '@ffleet/core';

/** A child failed for good, so its pipeline fails with the child's error (its code and stderr). */
export class ChildFailedError extends Error implements SelfDescribingError {
  readonly code: string;
  readonly permanent = true;
  readonly stderr: string[] | undefined;
  readonly childId: string;
  constructor(childId: string, failure: JobFailure) {
    super(`${childId} failed: ${failure.message}`);
    this.name = 'ChildFailedError';
    this.code = failure.code;
    this.stderr = failure.stderr;
    this.childId = childId;
  }
}
