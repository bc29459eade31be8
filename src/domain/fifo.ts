// FIFO: jobs start in global submission order. A user at its `maxConcurrent` cap does not
// block anyone: its next job is parked until one of its jobs stops, then goes back in line
// at its original place.
//
// Cost: take/enqueue/remove O(log n) amortized (removal is lazy: a removed job is skipped
// when it reaches the top of the heap); position O(log n) through a counting tree.
import { CountingTree } from './counting-tree.ts';
import { Heap } from './heap.ts';
import type { QueuedJob, SchedulingPolicy } from './policy.ts';

export class FifoPolicy<J extends QueuedJob = QueuedJob> implements SchedulingPolicy<J> {
  readonly name = 'fifo' as const;
  private readonly queued = new Map<number, J>();
  private readonly line = new Heap<J>((a, b) => a.id < b.id);
  private readonly ahead = new CountingTree();
  /** Jobs whose owner was at its cap when they reached the front, by user. */
  private readonly parked = new Map<string, J[]>();
  private readonly running = new Map<string, number>();
  private readonly limits = new Map<string, number>();

  get size(): number {
    return this.queued.size;
  }

  enqueue(job: J): void {
    if (this.queued.has(job.id)) return;
    this.queued.set(job.id, job);
    this.ahead.add(job.id, 1);
    this.line.push(job);
  }

  has(id: number): boolean {
    return this.queued.has(id);
  }

  remove(id: number): boolean {
    if (!this.queued.delete(id)) return false;
    this.ahead.add(id, -1);
    return true;
  }

  take(): J | undefined {
    for (;;) {
      const job = this.line.pop();
      if (!job) return undefined;
      if (this.queued.get(job.id) !== job) continue; // removed while waiting
      if (this.atCap(job.userId)) {
        const list = this.parked.get(job.userId) ?? [];
        list.push(job);
        this.parked.set(job.userId, list);
        continue;
      }
      this.remove(job.id);
      this.running.set(job.userId, (this.running.get(job.userId) ?? 0) + 1);
      return job;
    }
  }

  release(userId: string): void {
    const count = (this.running.get(userId) ?? 0) - 1;
    if (count > 0) this.running.set(userId, count);
    else this.running.delete(userId);
    this.unpark(userId);
  }

  markRunning(userId: string): void {
    this.running.set(userId, (this.running.get(userId) ?? 0) + 1);
  }

  setLimit(userId: string, maxConcurrent: number | undefined): void {
    if (maxConcurrent === undefined) this.limits.delete(userId);
    else this.limits.set(userId, maxConcurrent);
    this.unpark(userId);
  }

  position(id: number): number | undefined {
    return this.queued.has(id) ? this.ahead.countBelow(id) + 1 : undefined;
  }

  private atCap(userId: string): boolean {
    const limit = this.limits.get(userId);
    return limit !== undefined && (this.running.get(userId) ?? 0) >= limit;
  }

  private unpark(userId: string): void {
    if (this.atCap(userId)) return;
    const list = this.parked.get(userId);
    if (!list) return;
    this.parked.delete(userId);
    for (const job of list) if (this.queued.get(job.id) === job) this.line.push(job);
  }
}
