// The dispatcher's store port over Prisma. All writes go through one group committer.
import type { JobRecord, JobState } from '../domain/job.ts';
import type { ProcessorRecord } from '../domain/processor.ts';
import type { UserAttributes } from '../domain/rules.ts';
import type { DispatcherStore, JobPatch, NewJob, ProcessorPatch } from '../dispatcher/ports.ts';
import type { Prisma } from '../generated/prisma/client.ts';
import type { Db } from './client.ts';
import { GroupCommitter } from './group-commit.ts';

export type Tx = Prisma.TransactionClient;

/** Rows per page when the dispatcher rebuilds its queue at start. */
const RECOVERY_PAGE = 5000;

/** A conditional update found the row in another state: someone else moved it first. */
export class StaleWriteError extends Error {}

export class PrismaStore implements DispatcherStore {
  readonly committer: GroupCommitter<Tx>;

  /** `db` serves reads; `writer` (its own connection) is used only inside the committer. */
  constructor(
    private readonly db: Db,
    writer: Db,
  ) {
    this.committer = new GroupCommitter<Tx>((work) => writer.$transaction(work, { timeout: 60_000, maxWait: 60_000 }));
  }

  /**
   * Every write of the app goes through here. SQLite has one connection: a write made
   * beside the committer could land inside an open batch transaction and share its fate.
   */
  write<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.committer.write(work);
  }

  async *loadUnfinishedJobs(): AsyncIterable<JobRecord> {
    for (let after = 0; ; ) {
      const page = await this.db.job.findMany({
        where: { state: { in: ['QUEUED', 'RUNNING'] }, id: { gt: after } },
        orderBy: { id: 'asc' },
        take: RECOVERY_PAGE,
      });
      yield* page;
      if (page.length < RECOVERY_PAGE) return;
      after = page[page.length - 1]!.id;
    }
  }

  async maxJobId(): Promise<number> {
    const row = await this.db.job.aggregate({ _max: { id: true } });
    return row._max.id ?? 0;
  }

  loadProcessors(): Promise<ProcessorRecord[]> {
    return this.db.processor.findMany({
      where: { removedAt: null },
      orderBy: [{ createdAt: 'asc' }, { name: 'asc' }],
    });
  }

  loadUserAttributes(): Promise<Array<UserAttributes & { id: string }>> {
    return this.db.user.findMany({ select: { id: true, tier: true, weight: true, maxConcurrent: true } });
  }

  async loadProcessorMsByUser(): Promise<Map<string, number>> {
    const rows = await this.db.job.groupBy({ by: ['userId'], _sum: { runMs: true } });
    return new Map(rows.map((r) => [r.userId, r._sum.runMs ?? 0]));
  }

  findJobs(userId: string, jobIds: readonly string[]): Promise<JobRecord[]> {
    return this.db.job.findMany({ where: { userId, jobId: { in: [...jobIds] } } });
  }

  insertJobs(jobs: readonly NewJob[]): Promise<JobRecord[]> {
    return this.committer.write((tx) => tx.job.createManyAndReturn({ data: [...jobs] }));
  }

  updateJob(id: number, expected: JobState, patch: JobPatch): Promise<JobRecord> {
    // Conditional on the state we expect, so a write can never resurrect a job that
    // another path already moved on.
    return this.committer.write(async (tx) => {
      try {
        return await tx.job.update({ where: { id, state: expected }, data: patch });
      } catch (error) {
        if ((error as { code?: string }).code === 'P2025') throw new StaleWriteError(`job ${id} is no longer ${expected}`);
        throw error;
      }
    });
  }

  createProcessors(
    processors: ReadonlyArray<Pick<ProcessorRecord, 'id' | 'name' | 'kind'> & { ownerId?: string }>,
  ): Promise<ProcessorRecord[]> {
    return this.committer.write((tx) => tx.processor.createManyAndReturn({ data: [...processors] }));
  }

  updateProcessor(id: string, patch: ProcessorPatch): Promise<ProcessorRecord> {
    return this.committer.write((tx) => tx.processor.update({ where: { id }, data: patch }));
  }
}
