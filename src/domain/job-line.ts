// One user's queued jobs in the order they should start: a bucket per priority (highest
// first; a single bucket when priority is ignored), each an array sorted by id with a
// moving head. New jobs have the largest id yet, so inserting is an append; taking the
// first job moves a head. Both are O(1). Only a re-queued job (an interrupted one, with an
// older id) or a cancelled one in the middle costs a binary search and a splice.
//
// Arrays rather than a balanced tree: at a million queued jobs a tree spends its time on
// cache misses, while an array holds one pointer per job, in order.
import { PRIORITY_MAX, PRIORITY_MIN } from './validation.ts';
import type { QueuedJob } from './policy.ts';

/** Compacts a bucket once this many taken slots sit before its head (and half of it). */
const COMPACT_AT = 1024;

export class JobLine<J extends QueuedJob> {
  private readonly buckets: J[][];
  private readonly heads: number[];
  private count = 0;

  constructor(private readonly byPriority: boolean) {
    const n = byPriority ? PRIORITY_MAX - PRIORITY_MIN + 1 : 1;
    this.buckets = Array.from({ length: n }, () => []);
    this.heads = new Array<number>(n).fill(0);
  }

  size(): number {
    return this.count;
  }

  /** The job that starts first, or undefined. */
  front(): J | undefined {
    if (this.count === 0) return undefined;
    for (let b = 0; b < this.buckets.length; b++) {
      const bucket = this.buckets[b]!;
      if (this.heads[b]! < bucket.length) return bucket[this.heads[b]!];
    }
    return undefined;
  }

  insert(job: J): void {
    const b = this.bucketOf(job);
    const bucket = this.buckets[b]!;
    if (bucket.length === this.heads[b] || bucket[bucket.length - 1]!.id < job.id) bucket.push(job);
    else bucket.splice(this.search(b, job.id), 0, job);
    this.count++;
  }

  /** Removes a queued job; false if it is not in this line. */
  erase(job: J): boolean {
    const b = this.bucketOf(job);
    const bucket = this.buckets[b]!;
    const i = this.search(b, job.id);
    if (bucket[i] !== job) return false;
    if (i === this.heads[b]) {
      bucket[i] = undefined as unknown as J; // let it be collected
      this.heads[b]!++;
      this.compact(b);
    } else {
      bucket.splice(i, 1);
    }
    this.count--;
    return true;
  }

  /** The first `limit` jobs, in the order they start. */
  first(limit: number): J[] {
    const out: J[] = [];
    for (let b = 0; b < this.buckets.length && out.length < limit; b++) {
      const bucket = this.buckets[b]!;
      for (let i = this.heads[b]!; i < bucket.length && out.length < limit; i++) out.push(bucket[i]!);
    }
    return out;
  }

  /** How many of this line's jobs start before `job` (which must be in the line). */
  rank(job: J): number {
    const b = this.bucketOf(job);
    let ahead = this.search(b, job.id) - this.heads[b]!;
    for (let earlier = 0; earlier < b; earlier++) ahead += this.buckets[earlier]!.length - this.heads[earlier]!;
    return ahead;
  }

  private bucketOf(job: J): number {
    return this.byPriority ? PRIORITY_MAX - job.priority : 0;
  }

  /** The index of the first job in bucket `b` (from its head) whose id is ≥ `id`. */
  private search(b: number, id: number): number {
    const bucket = this.buckets[b]!;
    let lo = this.heads[b]!;
    let hi = bucket.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (bucket[mid]!.id < id) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private compact(b: number): void {
    const head = this.heads[b]!;
    const bucket = this.buckets[b]!;
    if (head === bucket.length) {
      bucket.length = 0;
      this.heads[b] = 0;
    } else if (head >= COMPACT_AT && head * 2 >= bucket.length) {
      bucket.splice(0, head);
      this.heads[b] = 0;
    }
  }
}
