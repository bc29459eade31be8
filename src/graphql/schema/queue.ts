import { POLICY_NAMES } from '../../domain/policy.ts';
import type { ScaleDecision } from '../../domain/autoscale.ts';
import type { QueueStateView, UserQueueStats } from '../../service/queue.ts';
import type { SchedulingService } from '../../service/scheduling.ts';
import { builder, clampInt } from '../builder.ts';
import { UserRef } from './user.ts';

type AutoscaleView = ReturnType<SchedulingService['autoscale']>;

const UserQueueStatsRef = builder.objectRef<UserQueueStats>('UserQueueStats').implement({
  fields: (t) => ({
    user: t.field({ type: UserRef, resolve: (s) => s.user }),
    queued: t.exposeInt('queued'),
    running: t.exposeInt('running'),
    weight: t.exposeFloat('weight', { description: 'Effective weight.' }),
    weightSource: t.exposeString('weightSource', { description: 'Which rule or setting gave the weight.' }),
    maxConcurrent: t.int({ nullable: true, resolve: (s) => s.maxConcurrent ?? null }),
    share: t.exposeFloat('share', {
      description: 'Entitled share of processor time now: weight over the weights of all users with work (0–1).',
    }),
    processorMs: t.int({ description: 'Processing time over all jobs (live).', resolve: (s) => clampInt(s.processorMs) }),
  }),
});

const ScaleDecisionRef = builder.objectRef<ScaleDecision>('ScaleDecision').implement({
  fields: (t) => ({
    at: t.field({ type: 'DateTime', resolve: (d) => new Date(d.at) }),
    from: t.exposeInt('from'),
    to: t.exposeInt('to'),
    reason: t.exposeString('reason'),
  }),
});

const AutoscaleRef = builder.objectRef<AutoscaleView>('Autoscale').implement({
  description: 'Autoscaling of built-in processors.',
  fields: (t) => ({
    enabled: t.exposeBoolean('enabled'),
    min: t.exposeInt('min'),
    max: t.exposeInt('max'),
    targetBacklog: t.exposeInt('targetBacklog', { description: 'Runnable queued jobs allowed per processor before scaling up.' }),
    scaleDownDelayMs: t.exposeInt('scaleDownDelayMs', { description: 'How long load must stay low before scaling down.' }),
    recommendation: t.int({
      nullable: true,
      description: 'Processors the current load calls for (before the scale-down delay); null when disabled.',
      resolve: (a) => a.recommendation,
    }),
    decisions: t.field({ type: [ScaleDecisionRef], description: 'Recent decisions, newest first.', resolve: (a) => [...a.decisions] }),
  }),
});

const QueueStateRef = builder.objectRef<QueueStateView>('QueueState').implement({
  fields: (t) => ({
    policy: t.exposeString('policy', { description: `The scheduling policy in force: ${POLICY_NAMES.join(' or ')}.` }),
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
    autoscale: t.field({ type: AutoscaleRef, resolve: (_s, _args, ctx) => ctx.services.scheduling.autoscale() }),
  }),
});

const AutoscaleInput = builder.inputType('AutoscaleInput', {
  description: 'Fields left out keep their current values.',
  fields: (t) => ({
    enabled: t.boolean({ required: false }),
    min: t.int({ required: false, description: 'Fewest built-in processors (0–1000).' }),
    max: t.int({ required: false, description: 'Most built-in processors (1–1000).' }),
    targetBacklog: t.int({ required: false, description: 'Runnable queued jobs per processor before scaling up (≥ 1).' }),
    scaleDownDelayMs: t.int({ required: false, description: 'How long load must stay low before scaling down (ms).' }),
  }),
});

builder.queryFields((t) => ({
  queueState: t.field({
    type: QueueStateRef,
    authScopes: { authenticated: true },
    resolve: (_root, _args, ctx) => ctx.services.queue.state(ctx.caller!),
  }),
}));

builder.mutationFields((t) => ({
  setPolicy: t.field({
    type: QueueStateRef,
    authScopes: { admin: true },
    description: `Switches the scheduling policy (${POLICY_NAMES.join(', ')}) at once; queued jobs keep their places in their users' lines.`,
    args: { name: t.arg.string({ required: true }) },
    resolve: async (_root, { name }, ctx) => {
      await ctx.services.scheduling.setPolicy(name);
      return ctx.services.queue.state(ctx.caller!);
    },
  }),
  setAutoscale: t.field({
    type: AutoscaleRef,
    authScopes: { admin: true },
    args: { input: t.arg({ type: AutoscaleInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.services.scheduling.setAutoscale(input),
  }),
}));
