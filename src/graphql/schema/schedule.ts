// Why a queued job waits (Job.schedule) and each user's effective settings (User.schedule).
import type { JobRecord } from '../../domain/job.ts';
import type { ResolvedSettings } from '../../domain/rules.ts';
import type { JobExplanation } from '../../dispatcher/dispatcher.ts';
import { builder } from '../builder.ts';
import { JobRef } from './job.ts';
import { UserRef } from './user.ts';

const WaitReasonEnum = builder.enumType('WaitReason', {
  values: {
    NO_PROCESSORS: { description: 'There are no processors to run anything.' },
    AT_MAX_CONCURRENT: { description: 'The user already runs as many jobs as its maxConcurrent allows.' },
    BEHIND_OWN_JOBS: { description: 'Jobs of the same user come first (higher priority, or submitted earlier).' },
    NEXT_IN_LINE: { description: 'It starts next, as soon as a processor is free.' },
    WAITING_FOR_TURN: { description: 'Processors are busy; other users’ turns come first under the policy.' },
  } as const,
});

const percent = (share: number) => `${Math.round(share * 1000) / 10}%`;

const REASONS: Record<JobExplanation['reason'], string> = {
  NO_PROCESSORS: 'There are no processors to run it.',
  AT_MAX_CONCURRENT: 'Its user already runs as many jobs as maxConcurrent allows.',
  BEHIND_OWN_JOBS: 'Jobs of the same user come first.',
  NEXT_IN_LINE: 'It starts as soon as a processor is free.',
  WAITING_FOR_TURN: 'Processors are busy and other users’ turns come first.',
};

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** A few sentences a user can read. */
export function summarize(e: JobExplanation): string {
  const ahead = e.position - 1;
  const cap =
    e.settings.maxConcurrent === undefined
      ? 'no cap'
      : `max ${e.settings.maxConcurrent}, ${e.settings.maxConcurrentSource}`;
  const estimate = e.policy === 'fifo' ? '' : 'about ';
  return [
    REASONS[e.reason],
    `Position ${e.position}: ${estimate}${plural(ahead, 'job')} ahead, ${e.ownAhead} of them yours.`,
    e.policy === 'fifo'
      ? 'Policy fifo: jobs start in submission order.'
      : `Weight ${e.settings.weight} (${e.settings.weightSource}): ${percent(e.share)} of processor time among users with work.`,
    `Running ${e.running} (${cap}).`,
  ].join(' ');
}

const JobScheduleRef = builder.objectRef<JobExplanation>('JobSchedule').implement({
  description: 'Why a queued job waits, and what decides its turn.',
  fields: (t) => ({
    policy: t.exposeString('policy'),
    reason: t.field({ type: WaitReasonEnum, resolve: (e) => e.reason }),
    position: t.exposeInt('position', {
      description: 'Same as Job.queuePosition: exact under fifo, a projection under weighted-fair.',
    }),
    jobsAhead: t.int({ resolve: (e) => e.position - 1 }),
    ownJobsAhead: t.exposeInt('ownAhead', { description: 'The user’s own queued jobs that start first (exact).' }),
    weight: t.float({ resolve: (e) => e.settings.weight }),
    weightSource: t.string({ description: 'Which rule or setting gave the weight.', resolve: (e) => e.settings.weightSource }),
    maxConcurrent: t.int({ nullable: true, resolve: (e) => e.settings.maxConcurrent ?? null }),
    maxConcurrentSource: t.string({ resolve: (e) => e.settings.maxConcurrentSource }),
    share: t.exposeFloat('share', {
      description: 'The user’s entitled share of processor time now: its weight over the weights of all users with work (0–1).',
    }),
    userRunning: t.exposeInt('running', { description: 'The user’s jobs running now.' }),
    userQueued: t.exposeInt('queued', { description: 'The user’s jobs queued now.' }),
    summary: t.string({ resolve: summarize }),
  }),
});

builder.objectField(JobRef, 'schedule', (t) =>
  t.field({
    type: JobScheduleRef,
    nullable: true,
    description: 'Why this job waits (only while QUEUED).',
    resolve: (job, _args, ctx) =>
      (job as JobRecord).state === 'QUEUED' ? (ctx.services.dispatcher.explain(job.id, job.userId) ?? null) : null,
  }),
);

const UserScheduleRef = builder.objectRef<ResolvedSettings & { userId: string }>('UserSchedule').implement({
  description: 'The settings the scheduler uses for a user, and where each comes from.',
  fields: (t) => ({
    weight: t.exposeFloat('weight'),
    weightSource: t.exposeString('weightSource'),
    maxConcurrent: t.int({ nullable: true, resolve: (s) => s.maxConcurrent ?? null }),
    maxConcurrentSource: t.exposeString('maxConcurrentSource'),
    share: t.float({
      description: 'Entitled share of processor time now, among users with work (0–1).',
      resolve: (s, _args, ctx) => ctx.services.dispatcher.shareOf(s.userId),
    }),
  }),
});

builder.objectField(UserRef, 'schedule', (t) =>
  t.field({
    type: UserScheduleRef,
    resolve: (user, _args, ctx) => ({ userId: user.id, ...ctx.services.dispatcher.settingsOf(user.id) }),
  }),
);
