// Remote processors: registration, leases (claim, heartbeat, complete, fail), and the
// dead-letter queue.
import type { LeaseView } from '../../dispatcher/dispatcher.ts';
import { builder } from '../builder.ts';
import { jobPage, JobRef } from './job.ts';
import { ProcessorRef } from './processor.ts';

const JobLeaseRef = builder.objectRef<LeaseView>('JobLease').implement({
  description:
    'One attempt at a job by one remote processor. Renew it with heartbeat before expiresAt; ' +
    'report on it with completeJob or failJob. Once it expires, every report on it is a CONFLICT.',
  fields: (t) => ({
    id: t.exposeID('id'),
    job: t.field({
      type: JobRef,
      resolve: async (lease, _args, ctx) =>
        lease.job ?? (await ctx.services.db.job.findUniqueOrThrow({ where: { id: lease.jobDbId } })),
    }),
    attempt: t.exposeInt('attempt', { description: "The job's attempt number: a fencing token, higher for every new lease." }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime' }),
    progress: t.exposeFloat('progress', { description: 'The last progress reported, 0 to 1.' }),
    processor: t.field({
      type: ProcessorRef,
      resolve: (lease, _args, ctx) => ctx.services.db.processor.findUniqueOrThrow({ where: { id: lease.processorId } }),
    }),
  }),
});

builder.queryFields((t) => ({
  deadJobs: t.prismaConnection(
    {
      type: 'Job',
      cursor: 'id',
      defaultSize: 20,
      maxSize: 100,
      authScopes: { authenticated: true },
      description: 'The dead-letter queue: jobs that used up their attempts (own jobs; admin: all, or one user).',
      args: { userId: t.arg.id({ required: false }) },
      resolve: (query, _root, args, ctx) =>
        jobPage(query, args, ctx, { state: 'DEAD', userId: args.userId as string | null }),
    },
    { name: 'DeadJobConnection' },
    { name: 'DeadJobEdge' },
  ),
}));

builder.mutationFields((t) => ({
  registerProcessor: t.field({
    type: ProcessorRef,
    authScopes: { processor: true },
    description: 'Registers a remote processor owned by the caller. Each call makes a new one.',
    args: { name: t.arg.string({ required: true }) },
    resolve: (_root, { name }, ctx) => ctx.services.remote.register(ctx.caller!, name),
  }),
  claimJob: t.field({
    type: JobLeaseRef,
    nullable: true,
    authScopes: { processor: true },
    description:
      'Long poll: returns a lease the moment the dispatcher assigns this processor a job, or null after ' +
      'waitMs (default 0, at most the configured maximum). One lease per processor at a time.',
    args: { processorId: t.arg.id({ required: true }), waitMs: t.arg.int({ required: false }) },
    resolve: (_root, args, ctx) =>
      ctx.services.remote.claim(ctx.caller!, String(args.processorId), args.waitMs, ctx.signal),
  }),
  heartbeat: t.field({
    type: JobLeaseRef,
    authScopes: { processor: true },
    description: 'Renews the lease for another lease length; progress (0–1) reaches the job owner.',
    args: { leaseId: t.arg.id({ required: true }), progress: t.arg.float({ required: false }) },
    resolve: (_root, args, ctx) => ctx.services.remote.heartbeat(ctx.caller!, String(args.leaseId), args.progress),
  }),
  completeJob: t.field({
    type: JobRef,
    authScopes: { processor: true },
    description: 'The job succeeded. Repeating it for the same lease returns the same job.',
    args: { leaseId: t.arg.id({ required: true }), result: t.arg({ type: 'JSON', required: false }) },
    resolve: (_root, args, ctx) => ctx.services.remote.complete(ctx.caller!, String(args.leaseId), args.result),
  }),
  failJob: t.field({
    type: JobRef,
    authScopes: { processor: true },
    description:
      'The attempt failed. retryable (default): back to the queue after a backoff, or DEAD when its ' +
      'attempts are used up. Not retryable: FAILED at once.',
    args: {
      leaseId: t.arg.id({ required: true }),
      error: t.arg.string({ required: true }),
      retryable: t.arg.boolean({ required: false, defaultValue: true }),
    },
    resolve: (_root, args, ctx) =>
      ctx.services.remote.fail(ctx.caller!, String(args.leaseId), args.error, args.retryable ?? true),
  }),
  retryJob: t.field({
    type: JobRef,
    authScopes: { submitter: true },
    description: 'Puts a DEAD (or FAILED) job back in the queue with fresh attempts. Owner or admin.',
    args: { jobId: t.arg.string({ required: true }), userId: t.arg.id({ required: false }) },
    resolve: (_root, args, ctx) => ctx.services.remote.retry(ctx.caller!, args.jobId, args.userId as string | null),
  }),
}));
