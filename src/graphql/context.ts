// What every resolver receives: who is calling, and the service API.
import type { Config } from '../config.ts';
import type { Dispatcher } from '../dispatcher/dispatcher.ts';
import type { AuthService } from '../service/auth.ts';
import type { Caller } from '../service/caller.ts';
import type { JobService } from '../service/jobs.ts';
import type { QueueService } from '../service/queue.ts';
import type { RemoteService } from '../service/remote.ts';
import type { SchedulingService } from '../service/scheduling.ts';
import type { StreamService } from '../service/streams.ts';
import type { Db } from '../store/client.ts';

export interface Services {
  config: Config;
  db: Db;
  dispatcher: Dispatcher;
  auth: AuthService;
  jobs: JobService;
  queue: QueueService;
  remote: RemoteService;
  scheduling: SchedulingService;
  streams: StreamService;
}

export interface Context {
  caller: Caller | undefined;
  services: Services;
  /** Aborts when an HTTP client goes away (ends a claimJob long poll early). */
  signal?: AbortSignal;
}
