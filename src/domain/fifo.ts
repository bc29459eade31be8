// FIFO: jobs start in global submission order; `priority` and `weight` are ignored. A user
// at its `maxConcurrent` cap does not block anyone: its jobs keep their places and the next
// runnable job starts instead.
//
// Each user's line is in id order and a ready user's key is the id of its first job, so
// the first ready user holds the oldest runnable job. Position is exact: a counting tree
// over job ids gives the number of queued jobs submitted earlier in O(log n).
import { CountingTree } from './counting-tree.ts';
import type { QueuedJob, SettingsOf } from './policy.ts';
import { UserLines, type Line } from './user-lines.ts';

export class FifoPolicy<J extends QueuedJob = QueuedJob> extends UserLines<J> {
  readonly name = 'fifo' as const;
  private readonly earlier = new CountingTree();

  constructor(settingsOf: SettingsOf = () => ({ weight: 1, maxConcurrent: undefined })) {
    super(settingsOf);
  }

  override enqueue(job: J): void {
    if (!this.queued.has(job.id)) this.earlier.add(job.id, 1);
    super.enqueue(job);
  }

  override remove(id: number): boolean {
    if (!super.remove(id)) return false;
    this.earlier.add(id, -1);
    return true;
  }

  override take(): J | undefined {
    const job = super.take();
    if (job) this.earlier.add(job.id, -1);
    return job;
  }

  protected readonly byPriority = false;

  protected readyKey(_line: Line<J>, first: J): number {
    return first.id;
  }

  protected started(): void {}

  protected forgettable(): boolean {
    return true;
  }

  protected positionOf(job: J): number {
    return this.earlier.countBelow(job.id) + 1;
  }
}
