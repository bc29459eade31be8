import type { JobRecord } from '../../domain/job.ts';
import { validatePageSize } from '../../domain/validation.ts';
import { builder } from '../builder.ts';
import type { Context } from '../context.ts';
import type { Prisma } from '../../generated/prisma/client.ts';
import { JobStateEnum } from './enums.ts';

export const JobRef = builder.prismaObject('Job', {
  fields: (t) => ({
    id: t.exposeID('id', { description: 'Server id; its order is the global submission order.' }),
    jobId: t.exposeString('jobId', { description: "The client's id for the job, unique per user." }),
    user: t.relation('user'),
    state: t.expose('state', { type: JobStateEnum }),
    durationMs: t.exposeInt('durationMs'),
    priority: t.exposeInt('priority', { nullable: true }),
    payload: t.field({
      type: 'JSON',
      nullable: true,
      select: { payload: true },
      resolve: (job) => (job.payload === null ? null : (JSON.parse(job.payload) as unknown)),
    }),
    maxAttempts: t.exposeInt('maxAttempts'),
    attempts: t.exposeInt('attempts', { description: 'Attempts started so far.' }),
    submittedAt: t.expose('submittedAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true, description: 'Start of the last attempt.' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    waitMs: t.int({
      nullable: true,
      description: 'Submission to the start of the last attempt; while queued, the wait so far.',
      resolve: (job, _args, ctx) => ctx.services.jobs.view(job as JobRecord).waitMs,
    }),
    runMs: t.int({
      description: 'Processing time over all attempts (live while running).',
      resolve: (job, _args, ctx) => ctx.services.jobs.view(job as JobRecord).runMs,
    }),
    elapsedMs: t.int({
      nullable: true,
      description: 'Work done in the current run so far (only while RUNNING).',
      resolve: (job, _args, ctx) => ctx.services.jobs.view(job as JobRecord).elapsedMs,
    }),
    progress: t.float({
      nullable: true,
      description: 'Fraction of durationMs done, 0 to 1.',
      resolve: (job, _args, ctx) => ctx.services.jobs.view(job as JobRecord).progress,
    }),
    queuePosition: t.int({
      nullable: true,
      description: 'Place in line while QUEUED: 1 starts next.',
      resolve: (job, _args, ctx) => ctx.services.jobs.view(job as JobRecord).queuePosition,
    }),
    processor: t.relation('processor', { nullable: true }),
    error: t.exposeString('error', { nullable: true, description: 'Why the last attempt failed (kept while it waits to be retried).' }),
    retryAt: t.expose('retryAt', {
      type: 'DateTime',
      nullable: true,
      description: 'While QUEUED after a failed attempt: not started again before this time (its backoff).',
    }),
    result: t.field({
      type: 'JSON',
      nullable: true,
      select: { result: true },
      description: 'What the remote processor reported with completeJob.',
      resolve: (job) => (job.result === null ? null : (JSON.parse(job.result) as unknown)),
    }),
  }),
});

export const SubmitJobInput = builder.inputType('SubmitJobInput', {
  fields: (t) => ({
    jobId: t.string({ description: 'Your id for the job: 1–128 of A–Z a–z 0–9 . _ : -, unique per user.' }),
    durationMs: t.int({ description: 'How long the job takes: 0 (instant) up to the configured maximum.' }),
    userId: t.id({ required: false, description: 'Owner; defaults to the caller. Only an admin may name another.' }),
    priority: t.int({
      required: false,
      description: '1–5. Orders a user\u2019s own jobs under the weighted-fair policy (higher first); fifo ignores it.',
    }),
    payload: t.field({ type: 'JSON', required: false, description: 'Any JSON, up to the configured size.' }),
    maxAttempts: t.int({ required: false }),
  }),
});

export const JobFilter = builder.inputType('JobFilter', {
  fields: (t) => ({
    state: t.field({ type: JobStateEnum, required: false }),
    states: t.field({ type: [JobStateEnum], required: false }),
    userId: t.id({ required: false, description: 'Admins: any user. Others: only their own id.' }),
  }),
});

type JobFilterInput = Parameters<Context['services']['jobs']['listWhere']>[1];

/** One page of the jobs a caller may list (own jobs; admin: any), in submission order. */
export function jobPage(
  query: Omit<Prisma.JobFindManyArgs, 'where' | 'orderBy'>,
  args: { first?: number | null; last?: number | null },
  ctx: Context,
  filter: JobFilterInput,
) {
  // Refuse oversized pages instead of silently shortening them.
  validatePageSize(args.first, ctx.services.config.limits);
  validatePageSize(args.last, ctx.services.config.limits);
  return ctx.services.db.job.findMany({ ...query, where: ctx.services.jobs.listWhere(ctx.caller!, filter), orderBy: { id: 'asc' } });
}

builder.queryFields((t) => ({
  job: t.prismaField({
    type: 'Job',
    nullable: true,
    authScopes: { authenticated: true },
    args: { jobId: t.arg.string({ required: true }), userId: t.arg.id({ required: false }) },
    resolve: (_query, _root, args, ctx) => ctx.services.jobs.get(ctx.caller!, args.jobId, args.userId as string | null),
  }),
  jobs: t.prismaConnection(
    {
      type: 'Job',
      cursor: 'id',
      defaultSize: 20,
      maxSize: 100,
      authScopes: { authenticated: true },
      args: { filter: t.arg({ type: JobFilter, required: false }) },
      resolve: (query, _root, args, ctx) => {
        return jobPage(query, args, ctx, args.filter as JobFilterInput | null);
      },
    },
    { name: 'JobConnection' },
    { name: 'JobEdge' },
  ),
}));

builder.mutationFields((t) => ({
  submitJob: t.field({
    type: JobRef,
    authScopes: { submitter: true },
    args: { input: t.arg({ type: SubmitJobInput, required: true }) },
    resolve: async (_root, { input }, ctx) => (await ctx.services.jobs.submit(ctx.caller!, [input], false))[0]!,
  }),
  submitJobs: t.field({
    type: [JobRef],
    authScopes: { submitter: true },
    description: 'All or nothing; at most the configured batch size; all for one user.',
    args: { input: t.arg({ type: [SubmitJobInput], required: true }) },
    resolve: (_root, { input }, ctx) => ctx.services.jobs.submit(ctx.caller!, input),
  }),
  cancelJob: t.field({
    type: JobRef,
    authScopes: { submitter: true },
    description: 'A queued job is cancelled; a running one is stopped.',
    args: { jobId: t.arg.string({ required: true }), userId: t.arg.id({ required: false }) },
    resolve: (_root, args, ctx) => ctx.services.jobs.cancel(ctx.caller!, args.jobId, args.userId as string | null),
  }),
}));
