// Subscriptions: graphql-ws on /graphql and SSE on the same path. Each checks ownership
// when it starts and only ever carries the caller's own jobs.
import { NotFoundError } from '../../domain/errors.ts';
import type { JobRecord } from '../../domain/job.ts';
import { actingFor } from '../../service/caller.ts';
import type { QueueSnapshot } from '../../service/jobs.ts';
import type { JobProgressEvent } from '../../service/streams.ts';
import { builder } from '../builder.ts';
import { JobStateEnum } from './enums.ts';
import { JobRef } from './job.ts';

const JobProgressEventRef = builder.objectRef<JobProgressEvent>('JobProgressEvent').implement({
  fields: (t) => ({
    job: t.field({ type: JobRef, resolve: (e) => e.job }),
    state: t.field({ type: JobStateEnum, resolve: (e) => e.state }),
    elapsedMs: t.exposeInt('elapsedMs', { nullable: true }),
    progress: t.exposeFloat('progress', { nullable: true }),
    queuePosition: t.exposeInt('queuePosition', { nullable: true }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

const UserQueueSnapshotRef = builder.objectRef<QueueSnapshot>('UserQueueSnapshot').implement({
  fields: (t) => ({
    queued: t.field({
      type: [JobRef],
      description: 'Queued jobs in line order, the first JOBLINE_MY_QUEUE_LIMIT of them.',
      resolve: (s) => s.queued,
    }),
    queuedCount: t.exposeInt('queuedCount', { description: 'All queued jobs of the caller.' }),
    running: t.field({ type: [JobRef], resolve: (s) => s.running }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

builder.subscriptionFields((t) => ({
  jobProgress: t.field({
    type: JobProgressEventRef,
    authScopes: { authenticated: true },
    description: 'The job now, then every change and every progress interval while it runs; ends after the terminal event.',
    args: { jobId: t.arg.string({ required: true }), userId: t.arg.id({ required: false }) },
    subscribe: async (_root, args, ctx) => {
      const owner = actingFor(ctx.caller!, args.userId as string | null);
      const job = await ctx.services.jobs.find(owner, args.jobId);
      if (!job) throw new NotFoundError(`no job "${args.jobId}" for user "${owner}"`);
      return ctx.services.streams.jobProgress(job, ctx.caller!.id);
    },
    resolve: (event: JobProgressEvent) => event,
  }),
  myQueue: t.field({
    type: UserQueueSnapshotRef,
    authScopes: { authenticated: true },
    description: "The caller's queued and running jobs, at once, on change and every progress interval.",
    subscribe: (_root, _args, ctx) => ctx.services.streams.myQueue(ctx.caller!.id),
    resolve: (snapshot: QueueSnapshot) => snapshot,
  }),
  jobCompleted: t.field({
    type: JobRef,
    authScopes: { authenticated: true },
    description: "One event per job of the caller's that reaches a terminal state.",
    subscribe: (_root, _args, ctx) => ctx.services.streams.jobCompleted(ctx.caller!.id),
    resolve: (job: JobRecord) => job,
  }),
}));
