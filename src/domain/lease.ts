// Lease arithmetic for remote processors. Plain functions, no I/O, clock and randomness
// passed in.
//
// A lease is one attempt at a job by one remote processor. It lasts `leaseMs` from its
// grant or its last heartbeat. Its id and the job's attempt number fence reports: only the
// current lease of a running job may change it.

export interface RetrySettings {
  /** Backoff before retry n is drawn from [0, min(maxMs, baseMs × 2^(n−1))]. */
  baseMs: number;
  maxMs: number;
}

/**
 * Delay before the job runs again after its `attempt`-th attempt failed: exponential,
 * capped, with full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter", 2015),
 * so a burst of failures does not come back as a burst.
 */
export function retryDelayMs(attempt: number, settings: RetrySettings, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(0, attempt - 1), 40); // 2^40 ms is far past any cap
  const ceiling = Math.min(settings.maxMs, settings.baseMs * 2 ** exponent);
  return Math.floor(random() * (ceiling + 1));
}

export type FailureOutcome = 'RETRY' | 'DEAD' | 'FAILED';

/**
 * What becomes of a job whose attempt failed (or whose lease expired): a retryable failure
 * with attempts left is retried, one without is dead-lettered; a permanent one fails.
 */
export function failureOutcome(attempts: number, maxAttempts: number, retryable: boolean): FailureOutcome {
  if (!retryable) return 'FAILED';
  return attempts < maxAttempts ? 'RETRY' : 'DEAD';
}

/** A heartbeat's progress, clamped to [0, 1]; undefined keeps the last one. */
export function clampProgress(progress: number | null | undefined, last: number): number {
  if (progress === null || progress === undefined || Number.isNaN(progress)) return last;
  return Math.min(1, Math.max(0, progress));
}
