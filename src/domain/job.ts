// The job state machine and time accounting. Plain data, no I/O.
//
//   QUEUED ──start──▶ RUNNING ──finish──▶ SUCCEEDED
//     │                │  │ └──fail────▶ FAILED | DEAD (no attempts left)
//     │                │  └──interrupt─▶ QUEUED (drain/restart: resumes with the work done)
//     └──cancel──▶ CANCELLED ◀──cancel──┘
//   DEAD | FAILED ──retryJob──▶ QUEUED (fresh attempts)
//   RUNNING ──fail or lease expiry, attempts left──▶ QUEUED (after a backoff)

export const JOB_STATES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'DEAD'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const TERMINAL_STATES: ReadonlySet<JobState> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED', 'DEAD']);

const TRANSITIONS: Record<JobState, readonly JobState[]> = {
  QUEUED: ['RUNNING', 'CANCELLED'],
  RUNNING: ['SUCCEEDED', 'FAILED', 'DEAD', 'CANCELLED', 'QUEUED'],
  SUCCEEDED: [],
  FAILED: ['QUEUED'],
  CANCELLED: [],
  DEAD: ['QUEUED'],
};

export function isTerminal(state: JobState): boolean {
  return TERMINAL_STATES.has(state);
}

export function canTransition(from: JobState, to: JobState): boolean {
  return TRANSITIONS[from].includes(to);
}

export function assertTransition(from: JobState, to: JobState): void {
  if (!canTransition(from, to)) throw new Error(`illegal job transition ${from} → ${to}`);
}

/** The persisted shape of a job (what the store returns). */
export interface JobRecord {
  id: number;
  userId: string;
  jobId: string;
  state: JobState;
  durationMs: number;
  priority: number | null;
  payload: string | null;
  maxAttempts: number;
  attempts: number;
  /** Attempts made before the last retryJob (maxAttempts counts from here). */
  attemptsBeforeRetry: number;
  submittedAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
  runMs: number;
  progressMs: number;
  processorId: string | null;
  /** The lease of the current (or last) remote attempt. */
  leaseId: string | null;
  /** A retry is not started before this time (its backoff). */
  retryAt: Date | null;
  error: string | null;
  /** JSON text a remote processor reported with its completion. */
  result: string | null;
}

/** A run in progress: the persisted row plus when the current segment began. */
export interface RunSegment {
  /** Clock time (ms) when this segment of work began (a start or a resume). */
  segmentStart: number;
}

/** Time spent in the current segment, never negative (clocks may step). */
export function segmentMs(run: RunSegment, now: number): number {
  return Math.max(0, now - run.segmentStart);
}

/** Work left before a built-in processor completes the job. */
export function remainingMs(job: Pick<JobRecord, 'durationMs' | 'progressMs'>): number {
  return Math.max(0, job.durationMs - job.progressMs);
}

/** Fraction done in [0, 1]; an instant job is done when it finishes. */
export function progressOf(durationMs: number, doneMs: number): number {
  if (durationMs <= 0) return 0;
  return Math.min(1, Math.max(0, doneMs / durationMs));
}

/**
 * Wait time: submission to the start of the last attempt; for a job still queued, the
 * time it has waited so far; for one that ended without starting, the time it waited.
 */
export function waitMsOf(
  job: Pick<JobRecord, 'submittedAt' | 'startedAt' | 'finishedAt' | 'state'>,
  now: number,
): number | null {
  const since = (t: number) => Math.max(0, t - job.submittedAt.getTime());
  if (job.startedAt) return since(job.startedAt.getTime());
  if (job.state === 'QUEUED') return since(now);
  if (job.finishedAt) return since(job.finishedAt.getTime());
  return null;
}
