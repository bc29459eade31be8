// The two ports the dispatcher talks through. It never sees Prisma or GraphQL: the store
// and the event bus are adapters behind these interfaces.
import type { JobRecord, JobState } from '../domain/job.ts';
import type { ProcessorRecord } from '../domain/processor.ts';
import type { UserAttributes } from '../domain/rules.ts';
import type { JobSpec } from '../domain/validation.ts';

export interface NewJob extends JobSpec {
  id: number;
  userId: string;
  submittedAt: Date;
}

export type JobPatch = Partial<
  Pick<
    JobRecord,
    | 'state'
    | 'attempts'
    | 'attemptsBeforeRetry'
    | 'startedAt'
    | 'finishedAt'
    | 'runMs'
    | 'progressMs'
    | 'processorId'
    | 'leaseId'
    | 'retryAt'
    | 'error'
    | 'result'
  >
>;

export type ProcessorPatch = Partial<Pick<ProcessorRecord, 'state' | 'jobsCompleted' | 'busyMs' | 'removedAt'>>;

/**
 * Durable storage. Every write resolves only once it is committed; writes issued together
 * are committed together (group commit) and in the order they were issued.
 */
export interface DispatcherStore {
  /**
   * Jobs QUEUED or RUNNING, in id (submission) order: the state to rebuild at start. Read
   * in pages, so a long queue is never all in memory as rows at once.
   */
  loadUnfinishedJobs(): AsyncIterable<JobRecord>;
  /** Highest job id ever used (0 when none). */
  maxJobId(): Promise<number>;
  /** Processors (built-in and remote) not removed, oldest first. */
  loadProcessors(): Promise<ProcessorRecord[]>;
  /** Every user's scheduling attributes (tier and own settings). */
  loadUserAttributes(): Promise<Array<UserAttributes & { id: string }>>;
  /** Processing time per user, over all jobs. */
  loadProcessorMsByUser(): Promise<Map<string, number>>;
  /** Jobs of one user by client job id (for idempotent resubmission). */
  findJobs(userId: string, jobIds: readonly string[]): Promise<JobRecord[]>;
  /** Inserts all or none. */
  insertJobs(jobs: readonly NewJob[]): Promise<JobRecord[]>;
  updateJob(id: number, expected: JobState, patch: JobPatch): Promise<JobRecord>;
  createProcessors(
    processors: ReadonlyArray<Pick<ProcessorRecord, 'id' | 'name' | 'kind'> & { ownerId?: string }>,
  ): Promise<ProcessorRecord[]>;
  updateProcessor(id: string, patch: ProcessorPatch): Promise<ProcessorRecord>;
}

/** Events the dispatcher announces after the change is durable. */
export interface DispatcherEvents {
  /** A job changed state (submitted, started, finished, cancelled, re-queued). */
  jobChanged(job: JobRecord): void;
  /** A job reached a terminal state. */
  jobFinished(job: JobRecord): void;
  /** Processors or totals changed (for queue-state watchers). */
  queueChanged(): void;
}
