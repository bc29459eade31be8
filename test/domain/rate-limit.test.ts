// Token buckets on explicit times: burst, refill, the exact retry hint, forgetting full
// buckets, and a request larger than the burst.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TokenBuckets, type RateDecision } from '../../src/domain/rate-limit.ts';

const T0 = 1_700_000_000_000;

/** Takes `count` single tokens at `now`; returns how many passed. */
function drain(buckets: TokenBuckets, key: string, now: number, count: number): number {
  let passed = 0;
  for (let i = 0; i < count; i++) if (buckets.take(key, 1, now).allowed) passed++;
  return passed;
}

describe('TokenBuckets', () => {
  it('lets a burst through at once, then refuses with the time until the next token', () => {
    const buckets = new TokenBuckets({ perSecond: 10, burst: 20 });
    expect(drain(buckets, 'u', T0, 20)).toBe(20);
    expect(buckets.take('u', 1, T0)).toEqual({ allowed: false, retryAfterMs: 100 });
    // A refused request takes nothing: the hint does not grow with retries.
    expect(buckets.take('u', 1, T0)).toEqual({ allowed: false, retryAfterMs: 100 });
    expect(buckets.take('u', 3, T0 + 40)).toEqual({ allowed: false, retryAfterMs: 260 });
  });

  it('refills at perSecond up to the burst, never beyond', () => {
    const buckets = new TokenBuckets({ perSecond: 10, burst: 20 });
    drain(buckets, 'u', T0, 20);
    expect(buckets.available('u', T0 + 99)).toBe(0);
    expect(buckets.available('u', T0 + 100)).toBe(1);
    expect(buckets.available('u', T0 + 1000)).toBe(10);
    expect(buckets.available('u', T0 + 60_000)).toBe(20);
    expect(drain(buckets, 'u', T0 + 60_000, 25)).toBe(20);
  });

  it('answers a hint that is exact: one millisecond earlier is still too early', () => {
    // 3 per second: a token every 333⅓ ms, so the hints are not round numbers.
    const buckets = new TokenBuckets({ perSecond: 3, burst: 2 });
    drain(buckets, 'u', T0, 2);
    const refused = buckets.take('u', 2, T0) as { retryAfterMs: number };
    expect(refused.retryAfterMs).toBe(667);
    expect(buckets.take('u', 2, T0 + 666).allowed).toBe(false);
    expect(buckets.take('u', 2, T0 + 667).allowed).toBe(true);
  });

  it('keeps one bucket per key', () => {
    const buckets = new TokenBuckets({ perSecond: 1, burst: 1 });
    expect(buckets.take('a', 1, T0).allowed).toBe(true);
    expect(buckets.take('a', 1, T0).allowed).toBe(false);
    expect(buckets.take('b', 1, T0).allowed).toBe(true);
  });

  it('refuses for good a request that costs more than a full bucket, and takes nothing', () => {
    const buckets = new TokenBuckets({ perSecond: 5, burst: 10 });
    expect(buckets.take('u', 11, T0)).toEqual({ allowed: false, exceedsBurst: true });
    expect(buckets.available('u', T0)).toBe(10);
    expect(buckets.take('u', 10, T0)).toEqual({ allowed: true });
    // Even an empty bucket says "never" rather than a wait that would not help.
    expect(buckets.take('u', 11, T0)).toEqual({ allowed: false, exceedsBurst: true });
  });

  it('when the clock steps back, gives nothing for the gap and a hint that holds from the new time', () => {
    const buckets = new TokenBuckets({ perSecond: 10, burst: 10 });
    drain(buckets, 'u', T0 + 1000, 10);
    const refused = buckets.take('u', 1, T0 + 500);
    expect(refused).toEqual({ allowed: false, retryAfterMs: 100 });
    expect(buckets.take('u', 1, T0 + 599).allowed).toBe(false);
    expect(buckets.take('u', 1, T0 + 600).allowed).toBe(true);
  });

  it('refuses a limit of zero (the caller turns the limit off instead)', () => {
    expect(() => new TokenBuckets({ perSecond: 0, burst: 1 })).toThrow(RangeError);
  });

  it('forgets buckets that have filled up, so memory follows recent callers, not all callers', () => {
    const buckets = new TokenBuckets({ perSecond: 100, burst: 200 });
    // 100,000 distinct users, ten a millisecond, each emptying its bucket: an empty bucket
    // takes 2 s to fill, so at most 20,000 users are "recent" at any time, and the map
    // holds at most twice that (it is swept when it has doubled).
    let most = 0;
    let passed = 0;
    for (let i = 0; i < 100_000; i++) {
      if (buckets.take(`user-${i}`, 200, T0 + Math.floor(i / 10)).allowed) passed++;
      most = Math.max(most, buckets.size);
    }
    expect(passed).toBe(100_000);
    expect(most).toBeGreaterThan(20_000);
    expect(most).toBeLessThanOrEqual(40_000);
    buckets.sweep(T0 + 10_000 + 2000);
    expect(buckets.size).toBe(0);
  });

  it('a bucket that is not yet full survives a sweep', () => {
    const buckets = new TokenBuckets({ perSecond: 1, burst: 5 });
    drain(buckets, 'u', T0, 5);
    buckets.sweep(T0 + 4999);
    expect(buckets.size).toBe(1);
    expect(buckets.available('u', T0 + 4999)).toBe(4);
    buckets.sweep(T0 + 5000);
    expect(buckets.size).toBe(0);
  });

  it('decides exactly as GCRA (an independent formulation) with any sweeps in between', () => {
    // GCRA keeps a "theoretical arrival time" per key instead of a token count. Times are
    // scaled by perSecond so a token is exactly 1000 scaled units and all sums are whole.
    const gcra = (perSecond: number, burst: number) => {
      const tat = new Map<string, number>();
      return (key: string, cost: number, now: number): RateDecision => {
        if (cost > burst) return { allowed: false, exceedsBurst: true };
        const t = now * perSecond;
        const next = Math.max(tat.get(key) ?? t, t) + cost * 1000;
        const over = next - t - burst * 1000;
        if (over > 0) return { allowed: false, retryAfterMs: Math.ceil(over / perSecond) };
        tat.set(key, next);
        return { allowed: true };
      };
    };
    const op = fc.record({
      key: fc.constantFrom('a', 'b', 'c'),
      dt: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 5000 })),
      cost: fc.integer({ min: 0, max: 12 }),
      sweep: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 10 }),
        fc.array(op, { maxLength: 200 }),
        (perSecond, burst, ops) => {
          const buckets = new TokenBuckets({ perSecond, burst });
          const model = gcra(perSecond, burst);
          let now = T0;
          for (const { key, dt, cost, sweep } of ops) {
            now += dt;
            if (sweep) buckets.sweep(now);
            const decision = buckets.take(key, cost, now);
            expect(decision).toEqual(model(key, cost, now));
            if ('retryAfterMs' in decision) {
              // The hint is exact: a millisecond sooner is refused, on time passes.
              if (decision.retryAfterMs > 1) expect(buckets.take(key, cost, now + decision.retryAfterMs - 1).allowed).toBe(false);
              expect(buckets.available(key, now + decision.retryAfterMs)).toBeGreaterThanOrEqual(cost);
            }
          }
        },
      ),
      { seed: 20261123, numRuns: 300 },
    );
  });
});
