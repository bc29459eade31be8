// The scheduling policy decides which queued job starts next. The dispatcher owns the
// processors; the policy owns the order. Implementations are plain data structures.

/** What the scheduler needs to know about a queued job. */
export interface QueuedJob {
  /** Global submission sequence number (lower = submitted earlier). */
  id: number;
  userId: string;
  durationMs: number;
  priority: number;
}

export type PolicyName = 'fifo';

/** `J` lets the caller keep its own data on each queued job; the policy only reads QueuedJob. */
export interface SchedulingPolicy<J extends QueuedJob = QueuedJob> {
  readonly name: PolicyName;
  /** Queued jobs, including those of users at their concurrency cap. */
  readonly size: number;
  enqueue(job: J): void;
  /** Removes a queued job (e.g. cancelled); false if it was not queued. */
  remove(id: number): boolean;
  has(id: number): boolean;
  /**
   * Takes the job that should start next, counting it as running for its user, or
   * returns undefined when no queued job may start (empty, or every owner at its cap).
   */
  take(): J | undefined;
  /** A job of this user stopped running (finished, cancelled, interrupted). */
  release(userId: string): void;
  /** Sets a user's concurrency cap (undefined = no cap). */
  setLimit(userId: string, maxConcurrent: number | undefined): void;
  /** 1-based place in line (1 = starts next), or undefined if not queued. */
  position(id: number): number | undefined;
}
