// FIFO: jobs start in global submission order. A user at its `maxConcurrent` cap does not
// block anyone: its jobs keep their places and the next runnable job starts instead.
//
// Structure: one heap of queued jobs per user (by id), and a heap of the users who may
// start a job now, keyed by the id of their first queued job. The next job is the first job
// of the first ready user. A user at its cap is simply not in the ready heap.
//
// Cost: enqueue, take and release O(log n); remove O(1) now and O(log n) amortized later
// (removal is lazy: a removed job is dropped when it reaches the top of its user's heap);
// position O(log n) through a counting tree over job ids.
import { CountingTree } from './counting-tree.ts';
import { Heap } from './heap.ts';
import type { QueuedJob, SchedulingPolicy } from './policy.ts';

interface UserLine<J> {
  userId: string;
  jobs: Heap<J>;
  running: number;
  limit: number | undefined;
  /** The key of this user's one live entry in the ready heap (others are stale). */
  readyKey: number | undefined;
}

/** A user's place in the ready heap; live while it matches the user's `readyKey`. */
interface ReadyEntry<J> {
  line: UserLine<J>;
  firstId: number;
}

export class FifoPolicy<J extends QueuedJob = QueuedJob> implements SchedulingPolicy<J> {
  readonly name = 'fifo' as const;
  private readonly queued = new Map<number, J>();
  private readonly lines = new Map<string, UserLine<J>>();
  private readonly ready = new Heap<ReadyEntry<J>>((a, b) => a.firstId < b.firstId);
  private readonly ahead = new CountingTree();

  get size(): number {
    return this.queued.size;
  }

  enqueue(job: J): void {
    if (this.queued.has(job.id)) return;
    this.queued.set(job.id, job);
    this.ahead.add(job.id, 1);
    const line = this.line(job.userId);
    line.jobs.push(job);
    if (this.first(line) === job) this.markReady(line);
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
      const entry = this.ready.pop();
      if (!entry) return undefined;
      const { line } = entry;
      if (entry.firstId !== line.readyKey) continue; // superseded by a newer entry
      line.readyKey = undefined;
      const first = this.first(line);
      // The first job was removed meanwhile: re-enter with the new first job, if any.
      if (!first || first.id !== entry.firstId) {
        this.markReady(line);
        continue;
      }
      if (this.atCap(line)) continue; // release() brings it back
      line.jobs.pop();
      this.remove(first.id);
      line.running++;
      this.markReady(line);
      return first;
    }
  }

  release(userId: string): void {
    const line = this.line(userId);
    line.running = Math.max(0, line.running - 1);
    this.markReady(line);
  }

  setLimit(userId: string, maxConcurrent: number | undefined): void {
    const line = this.line(userId);
    line.limit = maxConcurrent;
    this.markReady(line);
  }

  position(id: number): number | undefined {
    return this.queued.has(id) ? this.ahead.countBelow(id) + 1 : undefined;
  }

  private line(userId: string): UserLine<J> {
    let line = this.lines.get(userId);
    if (!line) {
      line = { userId, jobs: new Heap<J>((a, b) => a.id < b.id), running: 0, limit: undefined, readyKey: undefined };
      this.lines.set(userId, line);
    }
    return line;
  }

  /** The user's first job still queued, dropping removed ones from the top. */
  private first(line: UserLine<J>): J | undefined {
    for (;;) {
      const top = line.jobs.peek();
      if (!top || this.queued.get(top.id) === top) return top;
      line.jobs.pop();
    }
  }

  /**
   * Gives the user one live entry in the ready heap, keyed by its first job, if it may
   * start it; forgets users with nothing queued, running or capped.
   */
  private markReady(line: UserLine<J>): void {
    const first = this.first(line);
    if (first && !this.atCap(line)) {
      if (line.readyKey === first.id) return; // already there
      line.readyKey = first.id;
      this.ready.push({ line, firstId: first.id });
    } else {
      line.readyKey = undefined;
      if (!first && line.running === 0 && line.limit === undefined) this.lines.delete(line.userId);
    }
  }

  private atCap(line: UserLine<J>): boolean {
    return line.limit !== undefined && line.running >= line.limit;
  }
}
