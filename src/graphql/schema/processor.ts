import { builder, clampInt } from '../builder.ts';
import { ProcessorKindEnum, ProcessorStateEnum } from './enums.ts';
import { JobRef } from './job.ts';

export const ProcessorRef = builder.prismaObject('Processor', {
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    kind: t.expose('kind', { type: ProcessorKindEnum }),
    state: t.field({
      type: ProcessorStateEnum,
      select: { state: true },
      resolve: (p, _args, ctx) => ctx.services.dispatcher.liveProcessor(p.id)?.state ?? p.state,
    }),
    currentJob: t.field({
      type: JobRef,
      nullable: true,
      description:
        "The job it runs now; null when idle, or when the job is someone else's (admins, and the token " +
        'that registered a remote processor, see it).',
      select: { ownerId: true },
      resolve: async (p, _args, ctx) => {
        const id = ctx.services.dispatcher.liveProcessor(p.id)?.currentJobId;
        if (id == null || !ctx.caller) return null;
        const job = await ctx.services.db.job.findUnique({ where: { id } });
        const allowed = ctx.caller.role === 'ADMIN' || job?.userId === ctx.caller.id || p.ownerId === ctx.caller.id;
        return job && allowed ? job : null;
      },
    }),
    jobsCompleted: t.int({
      select: { jobsCompleted: true },
      resolve: (p, _args, ctx) => ctx.services.dispatcher.liveProcessor(p.id)?.jobsCompleted ?? p.jobsCompleted,
    }),
    busyMs: t.int({
      select: { busyMs: true },
      description: 'Time spent running jobs (live; capped at the largest GraphQL Int).',
      resolve: (p, _args, ctx) => clampInt(ctx.services.dispatcher.liveProcessor(p.id)?.busyMs ?? p.busyMs),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    removedAt: t.expose('removedAt', { type: 'DateTime', nullable: true }),
  }),
});

builder.mutationFields((t) => ({
  addProcessors: t.field({
    type: [ProcessorRef],
    authScopes: { admin: true },
    description: 'Adds built-in processors (1–100 per call); they start taking jobs at once.',
    args: { count: t.arg.int({ required: true }) },
    resolve: (_root, { count }, ctx) => ctx.services.queue.addProcessors(count),
  }),
  removeProcessor: t.field({
    type: ProcessorRef,
    authScopes: { admin: true, processor: true },
    description:
      'drain (default): a busy processor finishes its job first (DRAINING), then goes OFFLINE. ' +
      'drain: false: its job goes back to the queue (a built-in run keeps the work done; a remote lease ' +
      'is revoked) and it goes OFFLINE at once. Admins: any processor; PROCESSOR tokens: remote ones they registered.',
    args: { id: t.arg.id({ required: true }), drain: t.arg.boolean({ required: false, defaultValue: true }) },
    resolve: (_root, args, ctx) => ctx.services.queue.removeProcessor(ctx.caller!, String(args.id), args.drain ?? true),
  }),
}));
