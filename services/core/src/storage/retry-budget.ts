import type { RetryErrorInfo, RetryStrategyV2, RetryToken } from '@smithy/types';

/** The first wait after a failed request, doubled each time up to MAX_DELAY_MS. */
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 15_000;

/**
 * The waits between tries of one S3 request that together last `budgetSeconds`: 1, 2, 4, 8 s,
 * then 15 s at a time, the last one cut to what is left of the budget. A request against a
 * server that is down fails at once, so the waits are the time an outage is ridden out.
 */
export function retryDelays(budgetSeconds: number): number[] {
  const delays: number[] = [];
  let left = Math.max(0, Math.round(budgetSeconds * 1000));
  for (let next = FIRST_DELAY_MS; left > 0; next = Math.min(next * 2, MAX_DELAY_MS)) {
    const delay = Math.min(next, left);
    delays.push(delay);
    left -= delay;
  }
  return delays;
}

/**
 * Retries a request on its own budget: every error the SDK calls retryable (throttling, 5xx,
 * network errors) waits the next of `retryDelays`, until they run out. Not the SDK's standard
 * strategy: its retry quota is shared by every request of the client, so one outage drains it
 * and the next is not retried at all, whatever the budget. The SDK's retry middleware does the
 * waiting (and stops it when a request is aborted).
 */
export class BudgetRetryStrategy implements RetryStrategyV2 {
  readonly mode = 'standard';
  readonly delays: readonly number[];

  constructor(budgetSeconds: number) {
    this.delays = retryDelays(budgetSeconds);
  }

  async acquireInitialRetryToken(): Promise<RetryToken> {
    return retryToken(0, 0);
  }

  async refreshRetryTokenForRetry(previous: RetryToken, error: RetryErrorInfo): Promise<RetryToken> {
    const count = previous.getRetryCount();
    const delay = this.delays[count];
    if (delay === undefined) throw new Error(`no retries left after ${count}`);
    if (error.errorType !== 'TRANSIENT' && error.errorType !== 'THROTTLING')
      throw new Error(`not retryable: ${error.errorType}`);
    return retryToken(count + 1, delay);
  }

  recordSuccess(): void {}
}

function retryToken(count: number, delay: number): RetryToken {
  return { getRetryCount: () => count, getRetryDelay: () => delay };
}
