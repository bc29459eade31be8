// Per-user token buckets for the mutation rate limit. Plain arithmetic: the caller passes
// the time in, so tests run on explicit times and nothing here touches a clock or I/O.
//
// A bucket holds up to `burst` tokens and refills at `perSecond` tokens a second; a request
// costing n tokens passes when the bucket holds n, and takes them. Amounts are kept in
// milli-tokens (1 token = 1000 units), so with whole-millisecond times the refill is a whole
// number of units per millisecond and every sum is exact: a client that waits exactly
// `retryAfterMs` finds its tokens there, with no rounding to make it wait one more round.

export interface RateLimitSettings {
  /** Tokens added per second (> 0; a limit of 0 means "off" and is handled by the caller). */
  perSecond: number;
  /** Most tokens a bucket holds: how many requests may come at once after a quiet spell. */
  burst: number;
}

export type RateDecision =
  | { allowed: true }
  /** Not now: enough tokens will be there in `retryAfterMs` (a whole number ≥ 1). */
  | { allowed: false; retryAfterMs: number }
  /** Never: the request alone costs more than a full bucket holds. */
  | { allowed: false; exceedsBurst: true };

interface Bucket {
  /** Milli-tokens at `at`. */
  units: number;
  at: number;
}

const UNITS = 1000;
/** Sweeps never run on maps smaller than this: below it the memory is not worth the work. */
const MIN_SWEEP_SIZE = 1024;

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private readonly capacity: number;
  /** Refill in milli-tokens per millisecond: perSecond tokens/s = perSecond units/ms. */
  private readonly refill: number;
  /** Milliseconds an empty bucket takes to fill up. */
  private readonly fillMs: number;
  private sweepAt = MIN_SWEEP_SIZE;

  constructor(settings: RateLimitSettings) {
    if (!(settings.perSecond > 0) || !(settings.burst >= 1)) {
      throw new RangeError(`a token bucket needs perSecond > 0 and burst ≥ 1 (got ${settings.perSecond}, ${settings.burst})`);
    }
    this.capacity = Math.floor(settings.burst) * UNITS;
    this.refill = settings.perSecond;
    this.fillMs = Math.ceil(this.capacity / this.refill);
  }

  /** Takes `cost` tokens from `key`'s bucket at time `now` (ms), or says when it could. */
  take(key: string, cost: number, now: number): RateDecision {
    const need = Math.max(0, Math.ceil(cost)) * UNITS;
    if (need > this.capacity) return { allowed: false, exceedsBurst: true };
    let bucket = this.buckets.get(key);
    if (bucket && now < bucket.at) {
      // The clock stepped back: refill from now on, with nothing for the gap, so the hint
      // below holds (counting from the old, later time would make it too short).
      bucket = { units: bucket.units, at: now };
      this.buckets.set(key, bucket);
    }
    const units = this.level(bucket, now);
    if (units < need) {
      return { allowed: false, retryAfterMs: Math.ceil((need - units) / this.refill) };
    }
    this.buckets.set(key, { units: units - need, at: now });
    if (this.buckets.size >= this.sweepAt) this.sweep(now);
    return { allowed: true };
  }

  /** Tokens `key` could spend at `now` (whole tokens; for tests and diagnostics). */
  available(key: string, now: number): number {
    return Math.floor(this.level(this.buckets.get(key), now) / UNITS);
  }

  /** Buckets held in memory. */
  get size(): number {
    return this.buckets.size;
  }

  /**
   * Forgets every bucket that has filled up again. A full bucket behaves exactly like no
   * bucket, so forgetting it changes no decision; it only bounds memory: what stays is the
   * users that spent tokens within the last fill time (burst ÷ perSecond seconds), however
   * many users have ever called. Sweeps run when the map has doubled since the last one,
   * so their cost is spread over the takes that grew it (amortised O(1) a request).
   */
  sweep(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (this.level(bucket, now) >= this.capacity) this.buckets.delete(key);
    }
    this.sweepAt = Math.max(MIN_SWEEP_SIZE, 2 * this.buckets.size);
  }

  private level(bucket: Bucket | undefined, now: number): number {
    if (!bucket) return this.capacity;
    // A clock that stepped back refills nothing (and takes nothing away). Elapsed time is
    // capped at the fill time first, so the product stays exact however long the gap.
    const elapsed = Math.min(Math.max(0, now - bucket.at), this.fillMs);
    return Math.min(this.capacity, bucket.units + elapsed * this.refill);
  }
}
