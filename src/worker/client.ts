// The remote-processor SDK: run your own code as a Jobline processor.
//
//   const worker = runWorker({ url, token, handler: async (job, { signal, progress }) => ({ ok: true }) });
//   process.on('SIGTERM', () => void worker.stop());   // finish the current job, then stop
//   await worker.done;
//
// A worker is one processor: it registers, long-polls claimJob, runs the handler on each
// lease while heartbeats renew it (carrying the handler's latest progress), and reports the
// outcome with completeJob or failJob. Run several workers for parallelism. Reports are
// retried through network errors, server restarts and rate limiting until the lease is past
// its expiry; a lost lease aborts the handler's signal and is never reported.
import os from 'node:os';
import { JoblineRequestError, Transport, backoffMs, sleep } from './transport.ts';
import { JobAbortedError, type JobContext, type LeasedJob, type WorkerLogger, type WorkerOptions } from './types.ts';

export { JoblineRequestError } from './transport.ts';
export * from './types.ts';

interface Lease {
  id: string;
  attempt: number;
  expiresAt: string;
  job: LeasedJob;
}

const JOB = 'id jobId durationMs priority payload maxAttempts attempts submittedAt user { id name }';
const REGISTER = 'mutation Register($name: String!) { registerProcessor(name: $name) { id name } }';
const CLAIM = `mutation Claim($processorId: ID!, $waitMs: Int) {
  claimJob(processorId: $processorId, waitMs: $waitMs) { id attempt expiresAt job { ${JOB} } } }`;
const HEARTBEAT = 'mutation Heartbeat($leaseId: ID!, $progress: Float) { heartbeat(leaseId: $leaseId, progress: $progress) { expiresAt } }';
const COMPLETE = 'mutation Complete($leaseId: ID!, $result: JSON) { completeJob(leaseId: $leaseId, result: $result) { state } }';
const FAIL = `mutation Fail($leaseId: ID!, $error: String!, $retryable: Boolean) {
  failJob(leaseId: $leaseId, error: $error, retryable: $retryable) { state attempts } }`;

const REMOVE = 'mutation Remove($id: ID!) { removeProcessor(id: $id, drain: false) { id } }';

const REQUEST_TIMEOUT_MS = 15_000;
const DEFAULT_WAIT_MS = 30_000;
const HARD_STOP_GRACE_MS = 1000;
const MAX_ERROR_CHARS = 4000;
const silent: WorkerLogger = { info() {}, warn() {}, error() {} };

type Sent<T> = { ok: true; value: T } | { ok: false; error: unknown };

export class JoblineWorker {
  readonly name: string;
  processorId: string | undefined;
  private readonly transport: Transport;
  private readonly log: WorkerLogger;
  private stopping: 'no' | 'graceful' | 'hard' = 'no';
  /** Aborted by any stop: cuts a claim long poll and backoff sleeps short. */
  private readonly stopped = new AbortController();
  /** The job in hand: how to abort it on a hard stop. */
  private current: { stopHard(): void } | undefined;
  private loop: Promise<void> | undefined;
  private failures = 0;

  constructor(private readonly options: WorkerOptions) {
    this.name = options.name ?? `${os.hostname()}-${process.pid}`;
    this.transport = new Transport(options);
    this.log = options.log ?? silent;
  }

  /** Starts the worker (once). Resolves when it has stopped; rejects on a fatal error (bad token, wrong role). */
  start(): Promise<void> {
    if (!this.loop) {
      const running = this.run();
      this.loop = running.finally(() => this.deregister());
      this.loop.catch((error: unknown) => this.log.error('worker stopped by a fatal error', { error: errorText(error) }));
    }
    return this.loop;
  }

  /** The running worker's end (see start). */
  get done(): Promise<void> {
    return this.loop ?? Promise.resolve();
  }

  /**
   * Stops claiming and resolves once stopped. Graceful (default): the current job finishes
   * and is reported. Hard: the job's signal aborts, and after a short grace the job is
   * reported failed (retryable) so that it goes back to the queue. A hard stop may follow a
   * graceful one.
   */
  stop({ graceful = true }: { graceful?: boolean } = {}): Promise<void> {
    if (this.stopping === 'no' || (this.stopping === 'graceful' && !graceful)) {
      this.stopping = graceful ? 'graceful' : 'hard';
      this.stopped.abort(new JobAbortedError('worker-stopped', 'worker stopped'));
      if (!graceful) this.current?.stopHard();
    }
    return this.done.catch(() => {});
  }

  private async run(): Promise<void> {
    while (this.stopping === 'no') {
      try {
        this.processorId ??= await this.register();
        const t0 = Date.now();
        const waitMs = this.options.waitMs ?? DEFAULT_WAIT_MS;
        const { claimJob } = await this.transport.request<{ claimJob: Lease | null }>(
          CLAIM,
          { processorId: this.processorId, waitMs },
          { timeoutMs: waitMs + REQUEST_TIMEOUT_MS, signal: this.stopped.signal },
        );
        this.recovered();
        if (claimJob) await this.work(claimJob);
        else if (Date.now() - t0 < waitMs / 2) await sleep(250, this.stopped.signal); // never spin
      } catch (error) {
        if (this.stopping !== 'no') break;
        if (!(error instanceof JoblineRequestError)) throw error;
        if (error.code === 'NOT_FOUND') {
          this.log.warn('processor no longer known to the server: registering again', { processor: this.processorId });
          this.processorId = undefined;
          if (this.failures++ > 0) await sleep(backoffMs(this.failures, 250, 10_000), this.stopped.signal);
          continue;
        }
        const what = this.processorId ? `claimJob (waitMs ${this.options.waitMs ?? DEFAULT_WAIT_MS})` : 'registerProcessor';
        if (error.kind === 'rejected' && error.code !== 'CONFLICT') {
          throw new Error(`Jobline refused ${what}: ${error.code ?? `HTTP ${error.status}`}: ${error.message}`);
        }
        if (this.failures++ === 0) this.log.warn(`${what} failed, retrying`, { error: error.message });
        const delay = error.kind === 'rate-limited' ? error.retryAfterMs! : backoffMs(this.failures, 250, 10_000);
        await sleep(delay, this.stopped.signal);
      }
    }
  }

  private async register(): Promise<string> {
    const { registerProcessor } = await this.transport.request<{ registerProcessor: { id: string } }>(
      REGISTER,
      { name: this.name },
      { timeoutMs: REQUEST_TIMEOUT_MS, signal: this.stopped.signal },
    );
    this.log.info('registered', { processor: registerProcessor.id, name: this.name });
    return registerProcessor.id;
  }

  /**
   * A stopped worker's processor leaves the pool at once (it holds no lease any more), so
   * it does not linger as IDLE and then OFFLINE. Best effort, one try: a server that cannot
   * be reached forgets it after ten lease lengths anyway.
   */
  private async deregister(): Promise<void> {
    const id = this.processorId;
    if (!id) return;
    this.processorId = undefined;
    try {
      await this.transport.request(REMOVE, { id }, { timeoutMs: 2000 });
      this.log.info('deregistered', { processor: id });
    } catch (error) {
      this.log.warn('could not deregister; the server forgets the processor once it is silent', { error: errorText(error) });
    }
  }

  private recovered(): void {
    if (this.failures > 0) this.log.info('claiming again');
    this.failures = 0;
  }

  private async work(lease: Lease): Promise<void> {
    const { job } = lease;
    const at = { job: job.id, jobId: job.jobId, user: job.user.id, attempt: lease.attempt };
    this.log.info('claimed', { ...at, lease: lease.id });
    const t0 = Date.now();
    let expiresAt = Date.parse(lease.expiresAt);
    let progress: number | undefined;
    let sentProgress: number | undefined;
    let sentAt = Date.now();
    /** Wakes the heartbeat loop early: there is new progress to send. */
    let wake: AbortController | undefined;
    const progressEvery = this.options.progressHeartbeatMs ?? 1000;
    let lost: string | undefined;
    const aborter = new AbortController();
    const finished = new AbortController();
    let giveUp: (() => void) | undefined;
    this.current = {
      stopHard: () => {
        aborter.abort(new JobAbortedError('worker-stopped', 'worker stopped'));
        void sleep(HARD_STOP_GRACE_MS).then(() => giveUp?.());
      },
    };
    if (this.stopping === 'hard') this.current.stopHard(); // stopped while the claim came back

    const heartbeats = (async () => {
      while (!finished.signal.aborted) {
        const left = expiresAt - this.transport.serverNow();
        const every = this.options.heartbeatMs ? Math.min(this.options.heartbeatMs, left / 2) : left / 3;
        // New progress goes out within progressEvery of its report, not only on the lease's beat.
        const fresh = progressEvery > 0 && progress !== sentProgress;
        const due = Math.min(every, fresh ? sentAt + progressEvery - Date.now() : Infinity);
        wake = new AbortController();
        await sleep(Math.max(50, due), AbortSignal.any([finished.signal, wake.signal])); // never a tight loop
        if (finished.signal.aborted) return;
        if (wake.signal.aborted) continue; // progress arrived: work out when to send it
        sentProgress = progress;
        sentAt = Date.now();
        const sent = await this.send<{ heartbeat: { expiresAt: string } }>(
          HEARTBEAT,
          { leaseId: lease.id, progress: progress ?? null },
          () => expiresAt,
          finished.signal,
        );
        if (sent.ok) expiresAt = Date.parse(sent.value.heartbeat.expiresAt);
        else if (!finished.signal.aborted) {
          lost = errorText(sent.error);
          aborter.abort(new JobAbortedError('lease-lost', `lease lost: ${lost}`));
          return;
        }
        this.log.debug?.('heartbeat', { ...at, progress, expiresAt: new Date(expiresAt).toISOString() });
      }
    })();

    const ctx: JobContext = {
      signal: aborter.signal,
      attempt: lease.attempt,
      leaseId: lease.id,
      progress: (fraction) => {
        if (!Number.isFinite(fraction)) return;
        const first = progress === sentProgress;
        progress = Math.min(1, Math.max(0, fraction));
        if (first && progress !== sentProgress) wake?.abort(); // the loop may be asleep for a lease's third
      },
    };
    const running = Promise.resolve()
      .then(() => this.options.handler(job, ctx))
      .then(
        (result) => ({ ok: true as const, result }),
        (error: unknown) => ({ ok: false as const, error }),
      );
    // Wait for the handler (also after its lease is lost: one job at a time); after a hard
    // stop, only a short grace for it to notice.
    const outcome = await new Promise<Awaited<typeof running> | undefined>((resolve) => {
      void running.then(resolve);
      giveUp = () => resolve(undefined);
    });
    this.current = undefined;
    finished.abort();
    await heartbeats;

    if (lost !== undefined) return this.log.warn('lease lost', { ...at, reason: lost });
    const deadline = () => expiresAt;
    const ms = Date.now() - t0;
    if (outcome?.ok) {
      let result: unknown;
      try {
        result = outcome.result === undefined ? null : JSON.parse(JSON.stringify(outcome.result));
      } catch (error) {
        return this.fail(lease, at, `result is not JSON: ${errorText(error)}`, false, deadline);
      }
      const sent = await this.send<{ completeJob: { state: string } }>(COMPLETE, { leaseId: lease.id, result }, deadline);
      if (sent.ok) return this.log.info('done', { ...at, ms, state: sent.value.completeJob.state });
      if (rejectedAs(sent.error, 'BAD_USER_INPUT') || (sent.error as JoblineRequestError).status === 413) {
        return this.fail(lease, at, `result refused: ${errorText(sent.error)}`, false, deadline);
      }
      return this.unreported(at, 'completeJob', sent.error);
    }
    if (this.stopping === 'hard') {
      const why = outcome && !(outcome.error instanceof JobAbortedError) ? `: ${errorText(outcome.error)}` : '';
      return this.fail(lease, at, `worker stopped${why}`, true, deadline);
    }
    const error = outcome!.error;
    const retryable = (error as { retryable?: unknown } | null)?.retryable !== false;
    return this.fail(lease, at, errorText(error), retryable, deadline);
  }

  private async fail(lease: Lease, at: Record<string, unknown>, error: string, retryable: boolean, deadline: () => number) {
    const sent = await this.send<{ failJob: { state: string; attempts: number } }>(
      FAIL,
      { leaseId: lease.id, error: error.slice(0, MAX_ERROR_CHARS), retryable },
      deadline,
    );
    if (sent.ok) this.log.warn('failed', { ...at, error, retryable, state: sent.value.failJob.state });
    else this.unreported(at, 'failJob', sent.error);
  }

  private unreported(at: Record<string, unknown>, what: string, error: unknown): void {
    if (rejectedAs(error, 'CONFLICT')) this.log.warn('lease lost', { ...at, reason: `${what} refused: ${errorText(error)}` });
    else this.log.error('report abandoned', { ...at, report: what, error: errorText(error) });
  }

  /**
   * One report, retried through transient failures and rate limiting until `deadline()`
   * (the lease's expiry, server clock) is past by reportGraceMs. After a hard stop: one try.
   */
  private async send<T>(query: string, variables: Record<string, unknown>, deadline: () => number, signal?: AbortSignal): Promise<Sent<T>> {
    for (let attempt = 0; ; attempt++) {
      try {
        const value = await this.transport.request<T>(query, variables, {
          timeoutMs: this.stopping === 'hard' ? 2000 : REQUEST_TIMEOUT_MS,
          signal,
        });
        return { ok: true, value };
      } catch (error) {
        if (!(error instanceof JoblineRequestError) || error.kind === 'rejected' || signal?.aborted) return { ok: false, error };
        const delay = error.kind === 'rate-limited' ? error.retryAfterMs! : backoffMs(attempt, 100, 5000);
        const giveUpAt = deadline() + (this.options.reportGraceMs ?? 10_000);
        if (this.stopping === 'hard' || this.transport.serverNow() + delay > giveUpAt) return { ok: false, error };
        // Heartbeats are retried quietly; a report held up (the server away) is worth a line.
        if (attempt === 0 && query !== HEARTBEAT) {
          this.log.warn('report failed, retrying until the lease is over', { error: error.message });
        }
        await sleep(delay, signal);
      }
    }
  }
}

/** Creates a worker and starts it; `await worker.done` to wait until it stops. */
export function runWorker(options: WorkerOptions): JoblineWorker {
  const worker = new JoblineWorker(options);
  void worker.start();
  return worker;
}

function rejectedAs(error: unknown, code: string): boolean {
  return error instanceof JoblineRequestError && error.kind === 'rejected' && error.code === code;
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return typeof error === 'string' ? error : JSON.stringify(error) ?? String(error);
}
