// The remote-processor API: register, claim (long poll), heartbeat, complete, fail; and
// the dead-letter queue's retry. Checks who may touch which processor and lease, and the
// bounds of every input; the dispatcher does the rest.
import { BadInputError, ConflictError, ForbiddenError, NotFoundError } from '../domain/errors.ts';
import type { JobRecord } from '../domain/job.ts';
import type { ProcessorRecord } from '../domain/processor.ts';
import { jsonText, type Limits } from '../domain/validation.ts';
import type { Dispatcher, LeaseView } from '../dispatcher/dispatcher.ts';
import type { Db } from '../store/client.ts';
import { actingFor, type Caller } from './caller.ts';

export interface RemoteLimits extends Limits {
  maxClaimWaitMs: number;
}

const MAX_NAME = 100;
const MAX_ERROR = 10_000;

export class RemoteService {
  /** Registrations being written, per owner. */
  private readonly registering = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly dispatcher: Dispatcher,
    private readonly limits: RemoteLimits,
  ) {}

  async register(caller: Caller, name: string): Promise<ProcessorRecord> {
    const trimmed = name.trim();
    if (trimmed.length === 0 || trimmed.length > MAX_NAME || /\p{Cc}/u.test(trimmed)) {
      throw new BadInputError(`name must be 1–${MAX_NAME} printable characters`, { field: 'name' });
    }
    // Registrations still being written count too, so concurrent calls cannot pass the cap.
    const pending = this.registering.get(caller.id) ?? 0;
    const mine = this.dispatcher.remoteCount(caller.id) + pending;
    if (mine >= this.limits.maxProcessors) {
      throw new ConflictError(`this token already has ${mine} remote processors registered, the most allowed`);
    }
    this.registering.set(caller.id, pending + 1);
    try {
      return await this.dispatcher.registerRemote(trimmed, caller.id);
    } finally {
      const left = (this.registering.get(caller.id) ?? 1) - 1;
      if (left > 0) this.registering.set(caller.id, left);
      else this.registering.delete(caller.id);
    }
  }

  claim(caller: Caller, processorId: string, waitMs: number | null | undefined, signal?: AbortSignal) {
    const wait = waitMs ?? 0;
    if (!Number.isInteger(wait) || wait < 0 || wait > this.limits.maxClaimWaitMs) {
      throw new BadInputError(`waitMs must be from 0 to ${this.limits.maxClaimWaitMs}`, { field: 'waitMs' });
    }
    const owner = this.dispatcher.remoteOwner(processorId);
    if (owner !== undefined && owner !== caller.id && caller.role !== 'ADMIN') {
      throw new ForbiddenError('this processor was registered with another token');
    }
    return this.dispatcher.claim(processorId, wait, signal);
  }

  heartbeat(caller: Caller, leaseId: string, progress: number | null | undefined): LeaseView {
    this.ownLease(caller, leaseId);
    if (progress !== null && progress !== undefined && !(progress >= 0 && progress <= 1)) {
      throw new BadInputError('progress must be from 0 to 1', { field: 'progress' });
    }
    return this.dispatcher.heartbeat(leaseId, progress);
  }

  async complete(caller: Caller, leaseId: string, result: unknown): Promise<JobRecord> {
    const text = jsonText(result, this.limits.maxPayloadBytes, 'result');
    if (!this.ownLease(caller, leaseId)) {
      // A repeated report (its first answer was lost) gets the same answer, not a CONFLICT.
      await this.dispatcher.reportSettled(leaseId);
      const done = await this.db.job.findUnique({ where: { leaseId }, include: { processor: true } });
      if (done?.state === 'SUCCEEDED' && (done.processor?.ownerId === caller.id || caller.role === 'ADMIN')) return done;
    }
    return this.dispatcher.completeLease(leaseId, text);
  }

  async fail(caller: Caller, leaseId: string, error: string, retryable: boolean): Promise<JobRecord> {
    if (error.trim().length === 0 || error.length > MAX_ERROR) {
      throw new BadInputError(`error must be 1–${MAX_ERROR} characters`, { field: 'error' });
    }
    if (!this.ownLease(caller, leaseId)) {
      // A repeated report whose first answer was lost: the job still shows that failure.
      await this.dispatcher.reportSettled(leaseId);
      const done = await this.db.job.findUnique({ where: { leaseId }, include: { processor: true } });
      const owned = done?.processor?.ownerId === caller.id || caller.role === 'ADMIN';
      if (done && owned && done.error === error && ['QUEUED', 'FAILED', 'DEAD'].includes(done.state)) return done;
    }
    return this.dispatcher.failLease(leaseId, error, retryable);
  }

  async retry(caller: Caller, jobId: string, userId: string | null | undefined): Promise<JobRecord> {
    const owner = actingFor(caller, userId);
    const job = await this.db.job.findUnique({ where: { userId_jobId: { userId: owner, jobId } } });
    if (!job) throw new NotFoundError(`no job "${jobId}" for user "${owner}"`);
    return this.dispatcher.retry(job);
  }

  /** The active lease, when it is the caller's to report on; undefined when not active. */
  private ownLease(caller: Caller, leaseId: string): LeaseView | undefined {
    const lease = this.dispatcher.lease(leaseId);
    if (lease && lease.ownerId !== caller.id && caller.role !== 'ADMIN') {
      throw new ForbiddenError("this lease belongs to another token's processor");
    }
    return lease;
  }
}
