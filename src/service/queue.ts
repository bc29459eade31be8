// Queue state and processor management.
import { ForbiddenError } from '../domain/errors.ts';
import { validateProcessorCount, type Limits } from '../domain/validation.ts';
import type { ProcessorRecord } from '../domain/processor.ts';
import type { Dispatcher } from '../dispatcher/dispatcher.ts';
import type { User } from '../generated/prisma/client.ts';
import type { Db } from '../store/client.ts';
import type { Caller } from './caller.ts';

export interface QueueStateView {
  policy: string;
  queuedCount: number;
  runningCount: number;
  users: UserQueueStats[];
}

export interface UserQueueStats {
  user: User;
  queued: number;
  running: number;
  weight: number;
  weightSource: string;
  maxConcurrent: number | undefined;
  share: number;
  processorMs: number;
}

export class QueueService {
  constructor(
    private readonly db: Db,
    private readonly dispatcher: Dispatcher,
    private readonly limits: Limits,
  ) {}

  async state(caller: Caller): Promise<QueueStateView> {
    const totals = this.dispatcher.totals();
    const admin = caller.role === 'ADMIN';
    const loads = this.dispatcher
      .userLoads(admin ? [] : [caller.id])
      .filter((load) => admin || load.userId === caller.id);
    const users = await this.db.user.findMany({ where: { id: { in: loads.map((l) => l.userId) } } });
    const byId = new Map(users.map((u) => [u.id, u]));
    const activeWeight = this.dispatcher.activeWeight(admin ? undefined : caller.id);
    return {
      policy: this.dispatcher.policyName,
      queuedCount: totals.queued,
      runningCount: totals.running,
      users: loads
        .filter((load) => byId.has(load.userId))
        .map((load) => {
          const user = byId.get(load.userId)!;
          const settings = this.dispatcher.settingsOf(load.userId);
          return {
            user,
            queued: load.queued,
            running: load.running,
            weight: settings.weight,
            weightSource: settings.weightSource,
            maxConcurrent: settings.maxConcurrent,
            share: this.dispatcher.shareOf(load.userId, activeWeight),
            processorMs: load.processorMs,
          };
        }),
    };
  }

  addProcessors(count: number): Promise<ProcessorRecord[]> {
    validateProcessorCount(count, this.dispatcher.builtinCount(), this.limits);
    return this.dispatcher.addProcessors(count);
  }

  removeProcessor(caller: Caller, id: string, drain: boolean): Promise<ProcessorRecord> {
    // Another's processor (or a built-in one) is FORBIDDEN; an unknown or already removed id
    // is NOT_FOUND (from the dispatcher) for every caller.
    const known = this.dispatcher.processorIds().includes(id);
    if (caller.role !== 'ADMIN' && known && this.dispatcher.remoteOwner(id) !== caller.id) {
      throw new ForbiddenError('a PROCESSOR token may remove only the remote processors it registered');
    }
    return this.dispatcher.removeProcessor(id, drain);
  }
}
