// What the dispatcher keeps in memory, and the views it hands out: plain types and the
// conversions between stored rows and queue entries.
import type { JobRecord } from '../domain/job.ts';
import type { PolicyName, QueuedJob } from '../domain/policy.ts';
import type { ProcessorRecord } from '../domain/processor.ts';
import type { ResolvedSettings } from '../domain/rules.ts';
import { DEFAULT_PRIORITY, type JobSpec } from '../domain/validation.ts';

/** A queued job as the dispatcher remembers it: enough to start it, nothing more. */
export interface QueueEntry extends QueuedJob {
  runMs: number;
  progressMs: number;
  attempts: number;
  /** Attempts that count against maxAttempts start after this many (see retry). */
  attemptsBeforeRetry: number;
  maxAttempts: number;
  /**
   * Set when a built-in run was interrupted mid-attempt: starting it again resumes that
   * attempt. Null when the next start is a new attempt.
   */
  startedAt: Date | null;
}

export interface Run {
  entry: QueueEntry;
  processor: Processor;
  /** Totals as of the last checkpoint. */
  runMs: number;
  progressMs: number;
  /** Clock time the current segment of work began. */
  segmentStart: number;
  /** Built-in: fires when the work is done. */
  timer: unknown;
  /** Remote: the lease the processor holds. */
  lease?: Lease;
}

export interface Lease {
  id: string;
  expiresAt: number;
  /** Last progress a heartbeat reported (0–1). */
  progress: number;
  timer: unknown;
}

export interface Processor {
  record: ProcessorRecord;
  run: Run | undefined;
  /** Finishing its job, then retiring (removeProcessor). */
  draining: boolean;
  /** Set once retired: the write that records it OFFLINE. */
  retired?: Promise<ProcessorRecord>;
  remote?: RemoteLink;
}

/** What the dispatcher knows of a remote processor between its calls. */
export interface RemoteLink {
  ownerId: string;
  /** Its claimJob long poll, while one waits. */
  claim?: Claim;
  /** Silent past a lease length: OFFLINE until it calls again. */
  offline: boolean;
  /** Fires when it has been silent too long (to go OFFLINE, later to be forgotten). */
  silence: unknown;
}

export interface Claim {
  resolve: (lease: LeaseView | null) => void;
  timer: unknown;
  /** Aborts when the polling client goes away. */
  signal?: AbortSignal;
}

/** A lease as callers see it. `job` is the row as of the grant (claims only). */
export interface LeaseView {
  id: string;
  jobDbId: number;
  processorId: string;
  ownerId: string;
  attempt: number;
  expiresAt: Date;
  progress: number;
  job?: JobRecord;
}

export interface LiveJob {
  /** Processing time over all attempts, including the current segment. */
  runMs: number;
  elapsedMs: number;
  progress: number;
}

export interface LiveProcessor {
  state: ProcessorRecord['state'];
  currentJobId: number | null;
  jobsCompleted: number;
  busyMs: number;
}

export interface UserLoad {
  userId: string;
  queued: number;
  running: number;
  processorMs: number;
}

/** Why a queued job waits, and what decides its turn. */
export interface JobExplanation {
  policy: PolicyName;
  reason: 'NO_PROCESSORS' | 'AT_MAX_CONCURRENT' | 'BEHIND_OWN_JOBS' | 'NEXT_IN_LINE' | 'WAITING_FOR_TURN';
  position: number;
  ownAhead: number;
  settings: ResolvedSettings;
  /** The user's entitled share of processor time among users with work now (0–1). */
  share: number;
  running: number;
  queued: number;
}

export function entryOf(job: JobRecord): QueueEntry {
  return {
    id: job.id,
    userId: job.userId,
    durationMs: job.durationMs,
    priority: job.priority ?? DEFAULT_PRIORITY,
    runMs: job.runMs,
    progressMs: job.progressMs,
    attempts: job.attempts,
    attemptsBeforeRetry: job.attemptsBeforeRetry,
    maxAttempts: job.maxAttempts,
    // A job re-queued after a failed or revoked attempt (retryAt set) starts a new one.
    startedAt: job.retryAt ? null : job.startedAt,
  };
}

export function viewOf(run: Run): LeaseView {
  const lease = run.lease!;
  return {
    id: lease.id,
    jobDbId: run.entry.id,
    processorId: run.processor.record.id,
    ownerId: run.processor.remote!.ownerId,
    attempt: run.entry.attempts,
    expiresAt: new Date(lease.expiresAt),
    progress: lease.progress,
  };
}

export function specOf(job: JobRecord): JobSpec {
  return {
    jobId: job.jobId,
    durationMs: job.durationMs,
    priority: job.priority,
    payload: job.payload,
    maxAttempts: job.maxAttempts,
  };
}

