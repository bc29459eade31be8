import type { User } from '../../generated/prisma/client.ts';
import { builder, clampInt } from '../builder.ts';
import { UserRef } from './user.ts';

interface UserQueueStats {
  user: User;
  queued: number;
  running: number;
  weight: number;
  processorMs: number;
}

interface QueueState {
  policy: string;
  queuedCount: number;
  runningCount: number;
  users: UserQueueStats[];
}

const UserQueueStatsRef = builder.objectRef<UserQueueStats>('UserQueueStats').implement({
  fields: (t) => ({
    user: t.field({ type: UserRef, resolve: (s) => s.user }),
    queued: t.exposeInt('queued'),
    running: t.exposeInt('running'),
    weight: t.exposeFloat('weight'),
    processorMs: t.int({ description: 'Processing time over all jobs (live).', resolve: (s) => clampInt(s.processorMs) }),
  }),
});

const QueueStateRef = builder.objectRef<QueueState>('QueueState').implement({
  fields: (t) => ({
    policy: t.exposeString('policy', { description: 'The scheduling policy in force.' }),
    queuedCount: t.exposeInt('queuedCount'),
    runningCount: t.exposeInt('runningCount'),
    processors: t.prismaField({
      type: ['Processor'],
      description: 'Processors not removed.',
      resolve: (query, _state, _args, ctx) =>
        ctx.services.db.processor.findMany({ ...query, where: { removedAt: null }, orderBy: { createdAt: 'asc' } }),
    }),
    users: t.field({
      type: [UserQueueStatsRef],
      description: 'Users with queued or running work (a USER sees only its own row, always).',
      resolve: (s) => s.users,
    }),
  }),
});

builder.queryFields((t) => ({
  queueState: t.field({
    type: QueueStateRef,
    authScopes: { authenticated: true },
    resolve: (_root, _args, ctx) => ctx.services.queue.state(ctx.caller!),
  }),
}));

