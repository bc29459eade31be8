// FIFO: jobs start in global submission order; `priority` and `weight` are ignored. A user
// at its `maxConcurrent` cap does not block anyone: its jobs keep their places and the next
// runnable job starts instead.
//
// Each user's line is in id order and a ready user's key is the id of its first job, so
// the first ready user holds the oldest runnable job. Position is exact: a counting tree
// over job ids (re-keyed from the oldest queued id, so it spans only the queue) gives
// the number of queued jobs submitted earlier in O(log n).
import { CountingTree } from './counting-tree.ts';
import type { QueuedJob, SettingsOf } from './policy.ts';
import { UserLines, type Line } from './user-lines.ts';

export class FifoPolicy<J extends QueuedJob = QueuedJob> extends UserLines<J> {
  readonly name = 'fifo' as const;
  /** Counts queued ids, keyed by id − base (ids only grow; the tree covers the live span). */
  private earlier = new CountingTree();
  private base = 0;

  constructor(settingsOf: SettingsOf = () => ({ weight: 1, maxConcurrent: undefined })) {
    super(settingsOf);
  }

  override enqueue(job: J): void {
    if (this.queued.has(job.id)) return;
    super.enqueue(job);
    const key = job.id - this.base;
    if (key < 0 || key >= this.earlier.capacity) this.rebase();
    else this.earlier.add(key, 1);
  }

  override remove(id: number): boolean {
    if (!super.remove(id)) return false;
    this.earlier.add(id - this.base, -1);
    return true;
  }

  override take(): J | undefined {
    const job = super.take();
    if (job) this.earlier.add(job.id - this.base, -1);
    return job;
  }

  /**
   * Re-keys the tree from the oldest queued id, so it spans the queued ids rather than
   * every id ever seen (which would grow without end in a long-lived server).
   */
  private rebase(): void {
    let oldest = Infinity;
    let newest = -Infinity;
    for (const id of this.queued.keys()) {
      oldest = Math.min(oldest, id);
      newest = Math.max(newest, id);
    }
    this.base = oldest;
    // Room for as many ids again as the queue spans: rebuilds stay rare (amortized O(log n)).
    this.earlier = new CountingTree(Math.max(1024, 2 * (newest - oldest + 1)));
    for (const id of this.queued.keys()) this.earlier.add(id - this.base, 1);
  }

  protected readonly byPriority = false;

  protected readyKey(_line: Line<J>, first: J): number {
    return first.id;
  }

  protected started(): void {}

  protected forgettable(): boolean {
    return true;
  }

  protected positionsOf(_line: Line<J>, jobs: readonly J[]): number[] {
    return jobs.map((job) => this.earlier.countBelow(job.id - this.base) + 1);
  }
}
