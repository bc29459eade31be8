// The scheduling policy decides which queued job starts next. The dispatcher owns the
// processors; the policy owns the order. Implementations are plain data structures.

/** What the scheduler needs to know about a queued job. */
export interface QueuedJob {
  /** Global submission sequence number (lower = submitted earlier). */
  id: number;
  userId: string;
  durationMs: number;
  /** Work already done in an interrupted attempt (it resumes from there). */
  progressMs: number;
  /** 1–5, higher first; orders jobs only within their user's own queue (weighted-fair). */
  priority: number;
}

export const POLICY_NAMES = ['weighted-fair', 'fifo'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

export function isPolicyName(name: string): name is PolicyName {
  return (POLICY_NAMES as readonly string[]).includes(name);
}

/** A user's scheduling settings as the rules resolve them. */
export interface UserSettings {
  /** Share of processor time relative to other users (weighted-fair). */
  weight: number;
  /** Most jobs of this user running at once; undefined = no cap. */
  maxConcurrent: number | undefined;
}

/** Where a queued job stands. */
export interface Placement {
  /**
   * 1-based place in line: exact for fifo; for weighted-fair, the place the job would
   * start at if nobody submitted anything else and every user stayed backlogged.
   */
  position: number;
  /** The user's own queued jobs that start before this one (exact). */
  ownAhead: number;
}

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
  /** Counts a job of this user as running without taking one (when switching policies). */
  occupy(userId: string): void;
  /**
   * A job of this user stopped running (finished, cancelled, interrupted). `unusedMs`: the
   * part of the work it was charged for at its start that it did not do (interrupted or
   * cancelled runs), so the user is not charged for it.
   */
  release(userId: string, unusedMs?: number): void;
  /** Re-reads users' settings after rules or users changed (all users when omitted). */
  refresh(userIds?: Iterable<string>): void;
  placement(id: number): Placement | undefined;
  /**
   * A user's first `limit` queued jobs, in the order they will start. Their placements are
   * worked out together (one pass over the other users) and cached for placement().
   */
  lineOf(userId: string, limit: number): J[];
  /** Every queued job (to hand them to another policy). */
  jobs(): Iterable<J>;
}

/** Reads a user's current settings; policies call it when a user first shows up and on refresh. */
export type SettingsOf = (userId: string) => UserSettings;
