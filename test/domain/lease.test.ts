import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clampProgress, failureOutcome, retryDelayMs } from '../../src/domain/lease.ts';

describe('retry backoff', () => {
  const settings = { baseMs: 1000, maxMs: 300_000 };

  it('doubles its ceiling with every attempt, up to the cap', () => {
    // random() → just under 1 gives the ceiling itself.
    const top = () => 0.999_999_999;
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(attempt, settings, top))).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelayMs(9, settings, top)).toBe(256_000);
    expect(retryDelayMs(10, settings, top)).toBe(300_000);
    expect(retryDelayMs(1000, settings, top)).toBe(300_000);
  });

  it('jitters over the whole range from 0 to the ceiling (full jitter)', () => {
    expect(retryDelayMs(3, settings, () => 0)).toBe(0);
    expect(retryDelayMs(3, settings, () => 0.5)).toBe(2000);
  });

  it('is always a whole number of ms within [0, min(cap, base × 2^(n−1))]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 3_600_000 }),
        fc.integer({ min: 1, max: 200 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (baseMs, maxMs, attempt, r) => {
          const delay = retryDelayMs(attempt, { baseMs, maxMs }, () => r);
          expect(Number.isInteger(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay).toBeLessThanOrEqual(Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 40)));
        },
      ),
    );
  });

  it('spreads a burst of failures out instead of bringing them back together', () => {
    const delays = new Set(Array.from({ length: 100 }, () => retryDelayMs(5, settings)));
    expect(delays.size).toBeGreaterThan(50);
  });
});

describe('what a failed attempt leads to', () => {
  it('retries while attempts are left, then dead-letters; a permanent failure fails at once', () => {
    expect(failureOutcome(1, 3, true)).toBe('RETRY');
    expect(failureOutcome(2, 3, true)).toBe('RETRY');
    expect(failureOutcome(3, 3, true)).toBe('DEAD');
    expect(failureOutcome(1, 1, true)).toBe('DEAD');
    expect(failureOutcome(1, 3, false)).toBe('FAILED');
    // Attempts past the limit (a revived job that was retried by an operator) stay dead.
    expect(failureOutcome(5, 3, true)).toBe('DEAD');
  });
});

describe('heartbeat progress', () => {
  it('is clamped to [0, 1], and a missing value keeps the last one', () => {
    expect(clampProgress(0.4, 0.1)).toBe(0.4);
    expect(clampProgress(-1, 0.1)).toBe(0);
    expect(clampProgress(7, 0.1)).toBe(1);
    expect(clampProgress(undefined, 0.3)).toBe(0.3);
    expect(clampProgress(null, 0.3)).toBe(0.3);
    expect(clampProgress(Number.NaN, 0.3)).toBe(0.3);
  });
});
