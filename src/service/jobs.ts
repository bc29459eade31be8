// The jobs API: submit, cancel, look up, list, and the live views streamed to owners.
import { BadInputError, NotFoundError } from '../domain/errors.ts';
import { progressOf, waitMsOf, type JobRecord } from '../domain/job.ts';
import { validateBatch, validateJob, type Limits, type SubmitJobInput } from '../domain/validation.ts';
import type { Dispatcher } from '../dispatcher/dispatcher.ts';
import type { Db } from '../store/client.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import { actingFor, type Caller } from './caller.ts';

/** A job as shown to clients: the durable row plus live values from the dispatcher. */
export interface JobView {
  waitMs: number | null;
  runMs: number;
  elapsedMs: number | null;
  progress: number | null;
  queuePosition: number | null;
}

export interface QueueSnapshot {
  queued: JobRecord[];
  queuedCount: number;
  running: JobRecord[];
  at: Date;
}

export interface JobFilter {
  state?: JobRecord['state'] | null;
  states?: ReadonlyArray<JobRecord['state']> | null;
  userId?: string | null;
}

export class JobService {
  private readonly knownUsers = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly dispatcher: Dispatcher,
    private readonly limits: Limits,
    private readonly myQueueLimit: number,
  ) {}

  /** Submits a batch for one user, all or none. Every job names the same user. */
  async submit(caller: Caller, inputs: readonly SubmitJobInput[], batch = true): Promise<JobRecord[]> {
    const specs = batch ? validateBatch(inputs, this.limits) : [validateJob(inputs[0]!, this.limits)];
    const userIds = new Set(inputs.map((input) => actingFor(caller, input.userId)));
    if (userIds.size > 1) {
      // One batch, one owner: keeps all-or-nothing and idempotency checks simple and exact.
      throw new BadInputError('all jobs in one batch must belong to the same user', { field: 'userId' });
    }
    const [userId] = [...userIds] as [string];
    await this.requireUser(userId);
    return this.dispatcher.submit(userId, specs);
  }

  async cancel(caller: Caller, jobId: string, userId?: string | null): Promise<JobRecord> {
    const owner = actingFor(caller, userId);
    const job = await this.find(owner, jobId);
    if (!job) throw new NotFoundError(`no job "${jobId}" for user "${owner}"`);
    return this.dispatcher.cancel(job);
  }

  /** The caller's job (or, for an admin, anyone's); null when absent or not the caller's. */
  async get(caller: Caller, jobId: string, userId?: string | null): Promise<JobRecord | null> {
    if (userId && userId !== caller.id && caller.role !== 'ADMIN') return null;
    return this.find(userId ?? caller.id, jobId);
  }

  find(userId: string, jobId: string): Promise<JobRecord | null> {
    return this.db.job.findUnique({ where: { userId_jobId: { userId, jobId } } });
  }

  /** The filter for a job listing: own jobs only, unless an admin. */
  listWhere(caller: Caller, filter: JobFilter | null | undefined): Prisma.JobWhereInput {
    const where: Prisma.JobWhereInput = {};
    if (caller.role === 'ADMIN') {
      if (filter?.userId) where.userId = filter.userId;
    } else {
      where.userId = actingFor(caller, filter?.userId);
    }
    const states = [...(filter?.states ?? []), ...(filter?.state ? [filter.state] : [])];
    if (states.length > 0) where.state = { in: states };
    return where;
  }

  /** Live values; consistent with the row's state (the row is what was made durable). */
  view(job: JobRecord, now = Date.now()): JobView {
    const live = job.state === 'RUNNING' ? this.dispatcher.liveJob(job.id) : undefined;
    const dispatcher = this.dispatcher;
    return {
      waitMs: waitMsOf(job, now),
      runMs: live ? live.runMs : job.runMs,
      elapsedMs: live ? live.elapsedMs : null,
      progress: job.state === 'SUCCEEDED' ? 1 : live ? live.progress : progressOf(job.durationMs, job.progressMs),
      // Computed only when asked for: under weighted-fair it looks at every waiting user.
      get queuePosition() {
        return job.state === 'QUEUED' ? (dispatcher.queuePosition(job.id) ?? null) : null;
      },
    };
  }

  async snapshot(userId: string): Promise<QueueSnapshot> {
    // The jobs that start first (priority counts), in that order: the dispatcher knows it.
    const ids = this.dispatcher.queuedInOrder(userId, this.myQueueLimit);
    const [rows, queuedCount, running] = await Promise.all([
      this.db.job.findMany({ where: { id: { in: ids }, state: 'QUEUED' } }),
      this.db.job.count({ where: { userId, state: 'QUEUED' } }),
      this.db.job.findMany({ where: { userId, state: 'RUNNING' }, orderBy: { id: 'asc' } }),
    ]);
    const byId = new Map(rows.map((row) => [row.id, row]));
    const queued = ids.map((id) => byId.get(id)).filter((row): row is JobRecord => row !== undefined);
    return { queued, queuedCount, running, at: new Date() };
  }

  private async requireUser(userId: string): Promise<void> {
    // Users are never deleted, so one successful lookup per user is enough.
    if (this.knownUsers.has(userId)) return;
    const user = await this.db.user.findUnique({ where: { id: userId }, select: { id: true } });
    if (!user) throw new NotFoundError(`no user with id "${userId}"`);
    this.knownUsers.add(userId);
  }
}
