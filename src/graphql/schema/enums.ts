import { JOB_STATES } from '../../domain/job.ts';
import { builder } from '../builder.ts';

export const RoleEnum = builder.enumType('Role', {
  description: 'ADMIN: everything. USER: own jobs only. PROCESSOR: may claim and report on work.',
  values: ['ADMIN', 'USER', 'PROCESSOR'] as const,
});

export const JobStateEnum = builder.enumType('JobState', {
  description: 'DEAD: gave up after its last attempt (the dead-letter queue).',
  values: JOB_STATES,
});

export const ProcessorKindEnum = builder.enumType('ProcessorKind', { values: ['BUILTIN', 'REMOTE'] as const });

export const ProcessorStateEnum = builder.enumType('ProcessorState', {
  values: ['IDLE', 'BUSY', 'DRAINING', 'OFFLINE'] as const,
});
