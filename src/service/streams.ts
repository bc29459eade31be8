// Live streams for owners, independent of transport (graphql-ws and SSE both use them).
// Each starts listening on the bus *before* reading current state, so no change slips
// between (the bus's iterators are lazy: `listen` makes them register at once).
import { Repeater, SlidingBuffer } from '@repeaterjs/repeater';
import { RateLimitedError } from '../domain/errors.ts';
import { isTerminal, type JobRecord } from '../domain/job.ts';
import type { EventBus } from '../events/bus.ts';
import type { Db } from '../store/client.ts';
import type { JobService, QueueSnapshot } from './jobs.ts';

export interface JobProgressEvent {
  job: JobRecord;
  state: JobRecord['state'];
  elapsedMs: number | null;
  progress: number | null;
  queuePosition: number | null;
  at: Date;
}

/** Slow consumers get the newest events; the terminal one is never dropped (it is last). */
const STREAM_BUFFER = 32;
const COMPLETION_BUFFER = 1000;

export class StreamService {
  /** Live streams per subscribing user, over every connection and transport. */
  private readonly open = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly bus: EventBus,
    private readonly jobs: JobService,
    private readonly intervalMs: number,
    /** Each stream keeps timers and bus listeners (myQueue: a query per interval), so a user's are bounded. */
    private readonly maxStreamsPerUser: number,
  ) {}

  /** Current state at once, then every change and every interval while unfinished; ends after the terminal event. */
  jobProgress(job: JobRecord, subscriberId: string): AsyncIterable<JobProgressEvent> {
    return this.counted(subscriberId, this.progressOf(job));
  }

  /** The user's queue at once, on every change (coalesced), and every interval. */
  myQueue(userId: string): AsyncIterable<QueueSnapshot> {
    return this.counted(userId, this.queueOf(userId));
  }

  /** Every job of the user that reaches a terminal state. */
  jobCompleted(userId: string): AsyncIterable<JobRecord> {
    return this.counted(userId, this.completionsOf(userId));
  }

  /**
   * Admits one more live stream for `userId` (RATE_LIMITED past the cap) and lets it go
   * exactly once, whichever way the stream ends: finished, failed, or returned early.
   */
  private counted<T>(userId: string, source: AsyncIterable<T>): AsyncIterableIterator<T> {
    const count = this.open.get(userId) ?? 0;
    if (count >= this.maxStreamsPerUser) {
      throw new RateLimitedError(
        `too many live streams: at most ${this.maxStreamsPerUser} per user over all connections; end one first`,
        { maxStreams: this.maxStreamsPerUser },
      );
    }
    this.open.set(userId, count + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (this.open.get(userId) ?? 1) - 1;
      if (left > 0) this.open.set(userId, left);
      else this.open.delete(userId);
    };
    const iterator = source[Symbol.asyncIterator]();
    return {
      next: async () => {
        try {
          const result = await iterator.next();
          if (result.done) release();
          return result;
        } catch (error) {
          release();
          throw error;
        }
      },
      return: async (value?: unknown) => {
        release();
        return iterator.return ? iterator.return(value) : { done: true, value: undefined };
      },
      throw: async (error?: unknown) => {
        release();
        if (iterator.throw) return iterator.throw(error);
        throw error;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  private progressOf(job: JobRecord): AsyncIterable<JobProgressEvent> {
    return new Repeater<JobProgressEvent>(async (push, stop) => {
      const changes = listen(this.bus.subscribe('job', job.id));
      let latest = (await this.db.job.findUnique({ where: { id: job.id } })) ?? job;
      const emit = (row: JobRecord) => {
        const view = this.jobs.view(row);
        return push({
          job: row,
          state: row.state,
          elapsedMs: view.elapsedMs,
          progress: view.progress,
          queuePosition: view.queuePosition, // a snapshot: the event describes one moment
          at: new Date(),
        });
      };
      void emit(latest);
      if (isTerminal(latest.state)) {
        stop();
        return;
      }
      const timer = setInterval(() => void emit(latest), this.intervalMs);
      void (async () => {
        for await (const row of changes) {
          if (isTerminal(latest.state)) break;
          latest = row;
          void emit(row);
          if (isTerminal(row.state)) {
            stop();
            break;
          }
        }
      })();
      await stop;
      clearInterval(timer);
      await changes.return();
    }, new SlidingBuffer(STREAM_BUFFER));
  }

  private queueOf(userId: string): AsyncIterable<QueueSnapshot> {
    return new Repeater<QueueSnapshot>(async (push, stop) => {
      const changes = listen(this.bus.subscribe('userJobs', userId));
      let due: NodeJS.Timeout | undefined;
      const send = async () => {
        due = undefined;
        try {
          await push(await this.jobs.snapshot(userId));
        } catch {
          stop(); // the database went away: end the stream rather than hang it
        }
      };
      await send();
      const timer = setInterval(() => void send(), this.intervalMs);
      void (async () => {
        for await (const _change of changes) {
          due ??= setTimeout(() => void send(), 10);
        }
      })();
      await stop;
      clearInterval(timer);
      clearTimeout(due);
      await changes.return();
    }, new SlidingBuffer(1));
  }

  private completionsOf(userId: string): AsyncIterable<JobRecord> {
    // Bounded: a client that stops reading loses the oldest notifications (each is also
    // in `jobs`), never the server's memory — or the server, as an overflowing bus would.
    return new Repeater<JobRecord>(async (push, stop) => {
      const finished = listen(this.bus.subscribe('jobFinished', userId));
      void (async () => {
        for await (const job of finished) void push(job);
      })();
      await stop;
      await finished.return();
    }, new SlidingBuffer(COMPLETION_BUFFER));
  }
}

/**
 * Starts a lazy bus iterator listening now, and yields what it hears from then on. The
 * returned iterator is single-use, as the bus's are.
 */
function listen<T>(source: AsyncIterable<T>): AsyncIterableIterator<T> & { return(): Promise<IteratorResult<T>> } {
  const iterator = source[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<T>> | undefined = iterator.next(); // registers the listener
  return {
    next: () => {
      const result = pending ?? iterator.next();
      pending = undefined;
      return result;
    },
    return: async () => (iterator.return ? iterator.return() : { done: true as const, value: undefined }),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
