// The worker SDK's public types: what a handler receives and returns, the options, and the
// two errors that steer reporting. Re-exported by client.ts, which is what users import.

/** Throw it (or any error with `retryable: false`) to fail a job for good: FAILED, no retry. */
export class NonRetryableError extends Error {
  readonly retryable = false;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NonRetryableError';
  }
}

/** The reason of a handler's aborted signal. */
export class JobAbortedError extends Error {
  constructor(readonly why: 'lease-lost' | 'worker-stopped', message: string) {
    super(message);
    this.name = 'JobAbortedError';
  }
}

export interface LeasedJob {
  /** Server id. */
  id: string;
  /** The submitter's id for the job. */
  jobId: string;
  durationMs: number;
  priority: number | null;
  payload: unknown;
  maxAttempts: number;
  /** Attempts started so far, this one included. */
  attempts: number;
  submittedAt: string;
  user: { id: string; name: string };
}

export interface JobContext {
  /**
   * Aborts when the lease is lost (nothing will be reported: stop working) or the worker
   * stops hard. Return (or throw) promptly then: the worker claims nothing until you have.
   */
  signal: AbortSignal;
  /** Records progress (0..1); a heartbeat sends it within `progressHeartbeatMs`. */
  progress(fraction: number): void;
  attempt: number;
  leaseId: string;
}

/** Returns the job's result (any JSON value; `undefined` is sent as null). */
export type JobHandler = (job: LeasedJob, ctx: JobContext) => Promise<unknown>;

/** src/log.ts's Logger fits. */
export interface WorkerLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  debug?(message: string, fields?: Record<string, unknown>): void;
}

export interface WorkerOptions {
  /** The GraphQL endpoint, e.g. http://localhost:4000/graphql. */
  url: string;
  /** Token of a PROCESSOR (or ADMIN) user. */
  token: string;
  /** Processor name; default `<hostname>-<pid>`. */
  name?: string;
  handler: JobHandler;
  /** claimJob long-poll length (default 30000; the server's JOBLINE_MAX_CLAIM_WAIT_MS caps it). */
  waitMs?: number;
  /** Fixed heartbeat interval (never above half the lease time left). Default: a third of the time left. */
  heartbeatMs?: number;
  /**
   * New progress from the handler is sent within this long, by an early heartbeat (default
   * 1000, the server's default stream tick; 0: progress waits for the lease's own heartbeat).
   */
  progressHeartbeatMs?: number;
  /** How long after a lease's expiry a report is still retried (default 10000). */
  reportGraceMs?: number;
  log?: WorkerLogger;
  fetch?: typeof fetch;
}
