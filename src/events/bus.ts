// The event bus: typed topics over graphql-yoga's pub/sub (in-process by default; the
// same API runs over Redis when instances must share events).
import { createPubSub } from 'graphql-yoga';
import type { JobRecord } from '../domain/job.ts';
import type { DispatcherEvents } from '../dispatcher/ports.ts';

export type JoblineTopics = {
  /** A job changed state (submitted, started, finished, cancelled, re-queued). Id: job id. */
  job: [jobId: number, job: JobRecord];
  /** Any job of a user changed state. Id: user id. */
  userJobs: [userId: string, job: JobRecord];
  /** A job of a user reached a terminal state. Id: user id. */
  jobFinished: [userId: string, job: JobRecord];
  /** Processors or queue totals changed. */
  queue: [];
};

export type EventBus = ReturnType<typeof createPubSub<JoblineTopics>>;

export function createEventBus(): EventBus {
  return createPubSub<JoblineTopics>();
}

/** The dispatcher's event port, published on the bus. */
export function busEvents(bus: EventBus): DispatcherEvents {
  return {
    jobChanged(job) {
      bus.publish('job', job.id, job);
      bus.publish('userJobs', job.userId, job);
    },
    jobFinished(job) {
      bus.publish('jobFinished', job.userId, job);
    },
    queueChanged() {
      bus.publish('queue');
    },
  };
}
