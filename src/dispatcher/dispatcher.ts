// The dispatcher owns the truth about what runs where. It keeps the queue in memory (in
// the scheduling policy), matches queued jobs to idle built-in processors, and makes every
// change durable through the store *before* it announces it or acknowledges a caller.
//
// Built-in processors "work" for a job's remaining duration on a timer. While a job runs,
// its time is checkpointed every `checkpointMs`, so an interruption (graceful stop, crash,
// processor removed without draining) loses at most one checkpoint of work: the job goes
// back to the queue at its original place and later resumes with the work already done.
//
// Remote processors take part in the same matching: one is idle while it waits in a
// `claimJob` long poll. The job it gets is held under a lease (see domain/lease.ts) that
// heartbeats renew; a lease that runs out, or a retryable failure, sends the job back to
// the queue after a backoff, or to DEAD when its attempts are spent. Leases are durable
// (the job row names its lease), so a server restart keeps remote work running.
import type { Clock } from '../domain/clock.ts';
import { ConflictError, NotFoundError } from '../domain/errors.ts';
import { sameSpec, type JobSpec } from '../domain/validation.ts';
import { assertTransition, isTerminal, progressOf, remainingMs, segmentMs, type JobRecord } from '../domain/job.ts';
import type { LoadSample } from '../domain/autoscale.ts';
import { clampProgress, failureOutcome, retryDelayMs, type RetrySettings } from '../domain/lease.ts';
import { createPolicy } from '../domain/policies.ts';
import type { PolicyName, SchedulingPolicy } from '../domain/policy.ts';
import type { ProcessorRecord } from '../domain/processor.ts';
import { RuleBook, type ResolvedSettings, type Rules, type UserAttributes } from '../domain/rules.ts';
import type { Logger } from '../log.ts';
import { BackoffQueue } from './backoff-queue.ts';
import { RemotePresence } from './presence.ts';
import {
  entryOf,
  specOf,
  viewOf,
  type Claim,
  type JobExplanation,
  type LeaseView,
  type LiveJob,
  type LiveProcessor,
  type Processor,
  type QueueEntry,
  type Run,
  type UserLoad,
} from './model.ts';
import type { DispatcherEvents, DispatcherStore, JobPatch, NewJob } from './ports.ts';
import { UserLoads } from './user-loads.ts';

export type { JobExplanation, LeaseView, LiveJob, LiveProcessor, QueueEntry, UserLoad } from './model.ts';

export interface DispatcherOptions {
  store: DispatcherStore;
  events: DispatcherEvents;
  policy: PolicyName;
  rules: Rules;
  clock: Clock;
  log: Logger;
  /** How often running jobs' time is made durable. */
  checkpointMs: number;
  /** Remote lease length; a remote processor silent this long is OFFLINE, ten times this long forgotten. */
  leaseMs: number;
  retry: RetrySettings;
  /** Called when a state change could not be made durable: the process must restart. */
  onFatal: (error: unknown) => void;
}

const keyOf = (userId: string, jobId: string) => `${userId}\u0000${jobId}`;

export class Dispatcher {
  private readonly store: DispatcherStore;
  private readonly events: DispatcherEvents;
  private policy: SchedulingPolicy<QueueEntry>;
  private readonly ruleBook: RuleBook;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly processors = new Map<string, Processor>();
  /**
   * Processors ready for a job, in the order they became ready (longest idle first):
   * idle built-in ones, and remote ones waiting in a claim.
   */
  private readonly idle = new Set<Processor>();
  private readonly runs = new Map<number, Run>();
  private readonly leases = new Map<string, Run>();
  /** Jobs waiting out a retry backoff before they rejoin the line. */
  private readonly backoffs: BackoffQueue<QueueEntry>;
  private readonly presence: RemotePresence;
  /** Processors whose counters changed since the last checkpoint. */
  private readonly unsavedStats = new Set<Processor>();
  private readonly loads: UserLoads;
  /** Lease reports (complete or fail) accepted and still being written, by lease id. */
  private readonly reporting = new Map<string, Promise<unknown>>();
  /** DEAD or FAILED jobs whose retry is being written. */
  private readonly retrying = new Set<number>();
  /** Submissions not yet committed, so a concurrent duplicate waits for the first. */
  private readonly inFlight = new Map<string, Promise<JobRecord | undefined>>();
  private nextJobId = 1;
  private nextProcessorNumber = 1;
  private accepting = false;
  /** Set once the store is about to close: nothing may be written any more. */
  private closed = false;
  private checkpointTimer: unknown;

  constructor(private readonly options: DispatcherOptions) {
    this.store = options.store;
    this.events = options.events;
    this.ruleBook = new RuleBook(options.rules);
    this.loads = new UserLoads((userId) => this.ruleBook.resolve(userId).weight);
    this.policy = createPolicy(options.policy, (userId) => this.ruleBook.resolve(userId));
    this.clock = options.clock;
    this.log = options.log;
    this.presence = new RemotePresence(
      options.clock,
      options.leaseMs,
      {
        isSilent: (p) => !p.run && !p.remote!.claim && this.processors.has(p.record.id) && this.accepting,
        forget: (p) => void this.retire(p).catch(options.onFatal),
        record: (p, state) => {
          void this.store.updateProcessor(p.record.id, { state }).catch(options.onFatal);
          this.events.queueChanged();
        },
      },
      options.log,
    );
    this.backoffs = new BackoffQueue(options.clock, (entry) => {
      this.enqueue(entry);
      this.pump();
      this.events.queueChanged();
    });
  }

  get policyName(): PolicyName {
    return this.policy.name;
  }

  get rules(): Rules {
    return this.ruleBook.current;
  }

  /** Rebuilds the queue from the store, brings up `builtinProcessors`, starts dispatching. */
  async start(builtinProcessors: number): Promise<void> {
    this.nextJobId = (await this.store.maxJobId()) + 1;
    for (const { id, ...attributes } of await this.store.loadUserAttributes()) this.ruleBook.setUser(id, attributes);
    for (const [userId, ms] of await this.store.loadProcessorMsByUser()) this.loads.addProcessorMs(userId, ms);

    const existing = await this.store.loadProcessors();
    // Remote processors first, so the leases they hold can be picked up with their jobs.
    for (const record of existing.filter((p) => p.kind === 'REMOTE')) this.addRemote(record);

    const now = this.clock.now();
    let recovered = 0;
    let leased = 0;
    for await (let job of this.store.loadUnfinishedJobs()) {
      const holder = job.leaseId && job.processorId ? this.processors.get(job.processorId) : undefined;
      if (job.state === 'RUNNING' && holder?.remote && !holder.run) {
        // A remote processor holds it: the lease carries on, given a full length from now.
        this.resumeLease(holder, entryOf(job), job, now);
        leased++;
        continue;
      }
      if (job.state === 'RUNNING') {
        // Interrupted by a crash: back in line at its place, resuming from the last checkpoint
        // (a remote attempt whose processor is gone starts over as a new attempt).
        const patch: JobPatch = { state: 'QUEUED', processorId: null, ...(job.leaseId ? { retryAt: new Date(now) } : {}) };
        job = await this.store.updateJob(job.id, 'RUNNING', patch);
        recovered++;
      }
      const entry = entryOf(job);
      if (job.retryAt && job.retryAt.getTime() > now) this.backoffs.add(entry, job.retryAt.getTime());
      else this.enqueue(entry);
    }

    // A remote processor being drained retires now, or once it reports on the lease it holds.
    for (const processor of [...this.processors.values()]) {
      if (processor.draining && !processor.run) await this.retire(processor);
    }

    const builtins = existing.filter((p) => p.kind === 'BUILTIN');
    this.nextProcessorNumber =
      Math.max(0, ...builtins.map((p) => Number(/^builtin-(\d+)$/.exec(p.name)?.[1] ?? 0))) + 1;
    // A processor being drained when the server stopped was on its way out: retire it.
    const keep = builtins.filter((p) => p.state !== 'DRAINING').slice(0, builtinProcessors);
    for (const record of builtins.filter((p) => !keep.includes(p))) {
      await this.store.updateProcessor(record.id, { state: 'OFFLINE', removedAt: new Date(now) });
    }
    for (const record of keep) {
      this.addProcessor(record.state === 'IDLE' ? record : await this.store.updateProcessor(record.id, { state: 'IDLE' }));
    }
    if (builtinProcessors > keep.length) await this.createProcessors(builtinProcessors - keep.length);

    this.log.info('dispatcher started', {
      policy: this.policy.name,
      queued: this.policy.size,
      backingOff: this.backoffs.size,
      recoveredRunning: recovered,
      remoteLeases: leased,
      remoteProcessors: [...this.processors.values()].filter((p) => p.remote).length,
    });
    this.accepting = true;
    // Leases and silence are counted from now: recovery of a long queue may outlast a lease.
    const resumedAt = this.clock.now();
    for (const processor of this.processors.values()) {
      if (!processor.remote) continue;
      if (processor.run) this.armLease(processor.run, resumedAt);
      else this.presence.watch(processor);
    }
    this.scheduleCheckpoint();
    this.pump();
  }

  /**
   * Submits jobs for one user, all or none. A jobId seen before with the same spec returns
   * the existing job (idempotent); with a different spec it is a CONFLICT.
   */
  async submit(userId: string, specs: readonly JobSpec[]): Promise<JobRecord[]> {
    this.assertAccepting();
    const wanted = new Map<string, JobSpec>();
    for (const spec of specs) {
      const seen = wanted.get(spec.jobId);
      if (seen && !sameSpec(seen, spec)) throw new ConflictError(`jobId "${spec.jobId}" appears twice with different content`);
      wanted.set(spec.jobId, spec);
    }

    const found = new Map<string, JobRecord>();
    for (;;) {
      // Wait out concurrent submissions of the same jobIds, then look at what is stored.
      const pending = [...wanted.keys()].map((jobId) => this.inFlight.get(keyOf(userId, jobId))).filter(Boolean);
      if (pending.length > 0) {
        await Promise.allSettled(pending);
        continue;
      }
      for (const job of await this.store.findJobs(userId, [...wanted.keys()])) found.set(job.jobId, job);
      if ([...wanted.keys()].every((jobId) => !this.inFlight.has(keyOf(userId, jobId)))) break;
    }
    for (const [jobId, job] of found) {
      if (!sameSpec(specOf(job), wanted.get(jobId)!)) {
        throw new ConflictError(`jobId "${jobId}" already exists with different content`, { jobId });
      }
    }

    const submittedAt = new Date(this.clock.now());
    const fresh: NewJob[] = [...wanted.values()]
      .filter((spec) => !found.has(spec.jobId))
      .map((spec) => ({ ...spec, id: this.nextJobId++, userId, submittedAt }));
    if (fresh.length > 0) {
      const insert = this.store.insertJobs(fresh);
      const byJobId = insert.then((rows) => new Map(rows.map((r) => [r.jobId, r])));
      for (const job of fresh) {
        const key = keyOf(userId, job.jobId);
        this.inFlight.set(
          key,
          byJobId.then(
            (m) => m.get(job.jobId),
            () => undefined, // the submitter sees the failure; waiters just look again
          ).finally(() => this.inFlight.delete(key)),
        );
      }
      const rows = await insert;
      for (const row of rows) {
        found.set(row.jobId, row);
        this.enqueue(entryOf(row));
        this.events.jobChanged(row);
      }
      this.events.queueChanged();
      this.pump();
    }
    return specs.map((spec) => found.get(spec.jobId)!);
  }

  /** Cancels a queued job or stops a running one. Cancelling a cancelled job returns it. */
  async cancel(job: JobRecord): Promise<JobRecord> {
    const now = this.clock.now();
    const inLine = this.policy.remove(job.id);
    if (inLine) this.loads.addQueued(job.userId, -1);
    if (inLine || this.backoffs.remove(job.id)) {
      const row = await this.transition(job.id, 'QUEUED', { state: 'CANCELLED', finishedAt: new Date(now) });
      this.announceFinished(row);
      return row;
    }
    const run = this.runs.get(job.id);
    if (run) {
      const totals = this.endRun(run, now);
      const written = this.transition(job.id, 'RUNNING', { state: 'CANCELLED', finishedAt: new Date(now), ...totals });
      this.pump();
      const row = await written;
      this.announceFinished(row);
      return row;
    }
    if (job.state === 'CANCELLED') return job;
    throw new ConflictError(`job "${job.jobId}" is already ${job.state} and cannot be cancelled`, {
      state: job.state,
    });
  }

  async addProcessors(count: number): Promise<ProcessorRecord[]> {
    this.assertAccepting();
    const created = await this.createProcessors(count);
    this.events.queueChanged();
    this.pump();
    return created;
  }

  /**
   * Removes a processor. Idle: removed at once. Busy with `drain`: finishes its job first
   * (state DRAINING meanwhile). Busy without `drain`: its job goes back to the queue at its
   * original place (a built-in run keeps the work done; a remote lease is revoked) and the
   * processor is removed.
   */
  async removeProcessor(id: string, drain: boolean): Promise<ProcessorRecord> {
    const processor = this.processors.get(id);
    if (!processor) throw new NotFoundError(`no active processor with id "${id}"`);
    if (processor.run && drain) {
      if (processor.draining) return processor.record;
      processor.draining = true;
      await this.store.updateProcessor(id, { state: 'DRAINING' });
      // Keep the live counters (the row holds them only as of the last checkpoint).
      processor.record = { ...processor.record, state: 'DRAINING' };
      this.events.queueChanged();
      return processor.retired ? await processor.retired : processor.record;
    }
    if (processor.run) {
      processor.draining = true; // so the freed processor retires instead of taking more work
      await this.interrupt(processor.run, true);
      return processor.retired!;
    }
    return this.retire(processor);
  }

  // ── remote processors ───────────────────────────────────────────────────────────────

  /** Registers a remote processor for `ownerId`; it takes jobs once it claims. */
  async registerRemote(name: string, ownerId: string): Promise<ProcessorRecord> {
    this.assertAccepting();
    const [record] = await this.store.createProcessors([{ id: crypto.randomUUID(), name, kind: 'REMOTE', ownerId }]);
    this.addRemote(record!);
    this.events.queueChanged();
    return record!;
  }

  /** The owner of a remote processor still registered; undefined otherwise. */
  remoteOwner(processorId: string): string | undefined {
    return this.processors.get(processorId)?.remote?.ownerId;
  }

  /**
   * A long poll: resolves with a lease the moment the dispatcher assigns the processor a
   * job (after the lease is durable), or null after `waitMs` or when `signal` aborts (the
   * client went away: no job is handed to a poll nobody reads).
   */
  claim(processorId: string, waitMs: number, signal?: AbortSignal): Promise<LeaseView | null> {
    const processor = this.processors.get(processorId);
    const link = processor?.remote;
    if (!processor || !link) {
      throw new NotFoundError(`no registered remote processor "${processorId}"; register again`);
    }
    if (processor.run) {
      throw new ConflictError(
        `processor "${processor.record.name}" still holds lease ${processor.run.lease!.id}; complete or fail it first`,
        { leaseId: processor.run.lease!.id },
      );
    }
    if (processor.draining) throw new ConflictError(`processor "${processor.record.name}" is being removed`);
    this.presence.seen(processor);
    if (link.claim) {
      // A newer poll replaces an older one; until it is in place the processor is not ready.
      link.claim.resolve(null);
      link.claim = undefined;
      this.idle.delete(processor);
    }
    if (!this.accepting || signal?.aborted) return Promise.resolve(null);
    return new Promise<LeaseView | null>((resolve) => {
      const giveUp = () => {
        if (link.claim !== claim) return;
        this.clock.clearTimeout(claim.timer);
        link.claim = undefined;
        this.idle.delete(processor);
        this.presence.watch(processor);
        resolve(null);
      };
      const claim: Claim = {
        resolve: (lease: LeaseView | null) => {
          this.clock.clearTimeout(claim.timer);
          signal?.removeEventListener('abort', giveUp);
          resolve(lease);
        },
        timer: this.clock.setTimeout(giveUp, waitMs),
        signal,
      };
      link.claim = claim;
      signal?.addEventListener('abort', giveUp, { once: true });
      this.idle.add(processor);
      this.pump();
      if (waitMs === 0) giveUp(); // nothing to hand over right now (a no-op if it got a job)
    });
  }

  /** The active lease with this id; undefined when it expired, ended or never existed. */
  lease(leaseId: string): LeaseView | undefined {
    const run = this.leases.get(leaseId);
    return run && viewOf(run);
  }

  /** Renews a lease for another lease length and records the processor's progress. */
  heartbeat(leaseId: string, progress: number | null | undefined): LeaseView {
    const run = this.activeRun(leaseId);
    const lease = run.lease!;
    lease.progress = clampProgress(progress, lease.progress);
    this.armLease(run, this.clock.now());
    this.presence.seen(run.processor);
    return viewOf(run);
  }

  /** The processor finished the job: SUCCEEDED, with its result (JSON text). */
  async completeLease(leaseId: string, result: string | null): Promise<JobRecord> {
    const run = this.activeRun(leaseId);
    this.presence.seen(run.processor);
    const now = this.clock.now();
    run.lease!.progress = 1;
    const totals = this.endRun(run, now, true);
    const written = this.transition(run.entry.id, 'RUNNING', {
      state: 'SUCCEEDED',
      finishedAt: new Date(now),
      error: null,
      result,
      ...totals,
    });
    this.whileReporting(leaseId, written);
    this.pump();
    const row = await written;
    this.announceFinished(row);
    return row;
  }

  /** The processor gave up on the job: retried after a backoff, DEAD, or (not retryable) FAILED. */
  failLease(leaseId: string, error: string, retryable: boolean): Promise<JobRecord> {
    const run = this.activeRun(leaseId);
    this.presence.seen(run.processor);
    return this.whileReporting(leaseId, this.failRun(run, error, retryable));
  }

  /**
   * Resolves once a report on this lease that is still being written has committed, so a
   * repeat of it (its first answer lost, or sent twice at once) can be answered from the
   * store instead of being refused.
   */
  async reportSettled(leaseId: string): Promise<void> {
    await this.reporting.get(leaseId)?.catch(() => undefined);
  }

  private whileReporting<T>(leaseId: string, written: Promise<T>): Promise<T> {
    this.reporting.set(leaseId, written);
    const forget = () => {
      if (this.reporting.get(leaseId) === written) this.reporting.delete(leaseId);
    };
    written.then(forget, forget);
    return written;
  }

  /**
   * Puts a DEAD or FAILED job back in line with fresh attempts: maxAttempts counts again
   * from now, while attempt numbers keep going up (they fence leases).
   */
  async retry(job: JobRecord): Promise<JobRecord> {
    this.assertAccepting();
    if (this.retrying.has(job.id)) throw new ConflictError(`job "${job.jobId}" is already being retried`);
    if (job.state !== 'DEAD' && job.state !== 'FAILED') {
      throw new ConflictError(`job "${job.jobId}" is ${job.state}; only DEAD or FAILED jobs can be retried`, {
        state: job.state,
      });
    }
    this.retrying.add(job.id);
    let row: JobRecord;
    try {
      // Nothing changed in memory yet, so a failed write is the caller's error, not fatal.
      row = await this.store.updateJob(job.id, job.state, {
        state: 'QUEUED',
        attemptsBeforeRetry: job.attempts,
        startedAt: null,
        finishedAt: null,
        retryAt: null,
        progressMs: 0,
        processorId: null,
      });
    } finally {
      this.retrying.delete(job.id);
    }
    this.enqueue(entryOf(row));
    this.events.jobChanged(row);
    this.events.queueChanged();
    this.pump();
    return row;
  }

  /** Live values for a running job. */
  liveJob(id: number): LiveJob | undefined {
    const run = this.runs.get(id);
    if (!run) return undefined;
    const segment = this.segment(run);
    if (run.lease) {
      // Remote: the processor says how far it is; the attempt's wall time is its elapsed time.
      const elapsedMs = Math.max(0, this.clock.now() - run.entry.startedAt!.getTime());
      return { runMs: run.runMs + segment, elapsedMs, progress: run.lease.progress };
    }
    const done = Math.min(run.entry.durationMs, run.progressMs + segment);
    return { runMs: run.runMs + segment, elapsedMs: done, progress: progressOf(run.entry.durationMs, done) };
  }

  /** Ids of a user's first `limit` queued jobs, in the order they will start. */
  queuedInOrder(userId: string, limit: number): number[] {
    return this.policy.lineOf(userId, limit).map((entry) => entry.id);
  }

  /** 1-based place in line of a queued job (see Placement: exact for fifo, projected otherwise). */
  queuePosition(id: number): number | undefined {
    return this.policy.placement(id)?.position;
  }

  liveProcessor(id: string): LiveProcessor | undefined {
    const processor = this.processors.get(id);
    if (!processor) return undefined;
    const run = processor.run;
    return {
      state: processor.draining ? 'DRAINING' : run ? 'BUSY' : processor.remote?.offline ? 'OFFLINE' : 'IDLE',
      currentJobId: run?.entry.id ?? null,
      jobsCompleted: processor.record.jobsCompleted,
      busyMs: processor.record.busyMs + (run ? this.segment(run) : 0),
    };
  }

  processorIds(): string[] {
    return [...this.processors.keys()];
  }

  totals(): { queued: number; backingOff: number; running: number; processors: number } {
    return {
      queued: this.policy.size + this.backoffs.size,
      backingOff: this.backoffs.size,
      running: this.runs.size,
      processors: this.processors.size,
    };
  }

  /** Remote processors waiting in a claim now. */
  waitingClaims(): number {
    let waiting = 0;
    for (const processor of this.processors.values()) if (processor.remote?.claim) waiting++;
    return waiting;
  }

  /** Load per user: everyone with queued or running work, plus anyone asked for. */
  userLoads(alsoInclude: readonly string[] = []): UserLoad[] {
    const ids = new Set([...this.loads.active(), ...alsoInclude]);
    const liveMs = new Map<string, number>();
    for (const run of this.runs.values()) {
      liveMs.set(run.entry.userId, (liveMs.get(run.entry.userId) ?? 0) + this.segment(run));
    }
    return [...ids].sort().map((userId) => ({
      userId,
      queued: this.loads.queuedOf(userId),
      running: this.loads.runningOf(userId),
      processorMs: this.loads.processorMsOf(userId) + (liveMs.get(userId) ?? 0),
    }));
  }

  settingsOf(userId: string): ResolvedSettings {
    return this.ruleBook.resolve(userId);
  }

  /** The weights of all users with queued or running work, summed (plus `alsoUserId`'s). */
  activeWeight(alsoUserId?: string): number {
    return this.loads.activeWeight(alsoUserId);
  }

  /** A user's entitled share of processor time now: its weight over that of all users with work. */
  shareOf(userId: string, activeWeight = this.activeWeight(userId)): number {
    return this.ruleBook.resolve(userId).weight / activeWeight;
  }

  /** Built-in processors (the ones an operator adds, removes and autoscales). */
  builtinCount(): number {
    let count = 0;
    for (const processor of this.processors.values()) if (!processor.remote) count++;
    return count;
  }

  /** Remote processors registered by one owner and not yet removed or forgotten. */
  remoteCount(ownerId: string): number {
    let count = 0;
    for (const processor of this.processors.values()) if (processor.remote?.ownerId === ownerId) count++;
    return count;
  }

  /** Why a queued job waits; undefined when it is not queued (or waits out a retry backoff). */
  explain(id: number, userId: string): JobExplanation | undefined {
    const placement = this.policy.placement(id);
    if (!placement) return undefined;
    const settings = this.ruleBook.resolve(userId);
    const running = this.loads.runningOf(userId);
    const reason =
      this.processorCounts().processors === 0 && ![...this.processors.values()].some((p) => p.remote && !p.remote.offline)
        ? 'NO_PROCESSORS'
        : settings.maxConcurrent !== undefined && running >= settings.maxConcurrent
          ? 'AT_MAX_CONCURRENT'
          : placement.ownAhead > 0
            ? 'BEHIND_OWN_JOBS'
            : placement.position === 1
              ? 'NEXT_IN_LINE'
              : 'WAITING_FOR_TURN';
    return {
      policy: this.policy.name,
      reason,
      ...placement,
      settings,
      share: this.shareOf(userId),
      running,
      queued: this.loads.queuedOf(userId),
    };
  }

  /** New rules take effect at once: queued work is re-weighted, caps re-read. */
  setRules(rules: Rules): void {
    this.ruleBook.setRules(rules);
    this.loads.reweigh();
    this.policy.refresh();
    this.pump();
    this.events.queueChanged();
  }

  /** A user was created or its tier or own settings changed. */
  setUser(userId: string, attributes: UserAttributes): void {
    this.ruleBook.setUser(userId, attributes);
    this.loads.reweigh();
    this.policy.refresh([userId]);
    this.pump();
  }

  /** Switches policy: queued jobs move over in place, running ones count against their users' caps. */
  setPolicy(name: PolicyName): void {
    if (name === this.policy.name) return;
    const next = createPolicy<QueueEntry>(name, (userId) => this.ruleBook.resolve(userId));
    for (const entry of this.policy.jobs()) next.enqueue(entry);
    for (const run of this.runs.values()) next.occupy(run.entry.userId);
    this.policy = next;
    this.log.info('scheduling policy changed', { policy: name });
    this.pump();
    this.events.queueChanged();
  }

  /** The load the autoscaler looks at. */
  loadSample(): LoadSample {
    // Jobs that could start if a processor were free: up to each user's remaining cap.
    let runnable = 0;
    for (const [userId, queued] of this.loads.queuedByUser()) {
      const cap = this.ruleBook.resolve(userId).maxConcurrent;
      runnable += cap === undefined ? queued : Math.min(queued, Math.max(0, cap - this.loads.runningOf(userId)));
    }
    return { ...this.processorCounts(), runnable };
  }

  /** Removes `count` built-in processors: idle ones first, then busy ones drain. */
  async retireProcessors(count: number): Promise<void> {
    const leaving = [...this.processors.values()].filter((p) => !p.draining && !p.remote);
    leaving.sort((a, b) => Number(a.run !== undefined) - Number(b.run !== undefined));
    await Promise.all(leaving.slice(0, count).map((p) => this.removeProcessor(p.record.id, true)));
  }

  /**
   * Stops dispatching: no new assignments; running jobs are checkpointed and put back in
   * the queue (they resume after a restart), and every write is committed.
   */
  async stop(): Promise<void> {
    if (!this.accepting) return;
    this.accepting = false;
    this.clock.clearTimeout(this.checkpointTimer);
    this.backoffs.clear();
    for (const processor of this.processors.values()) {
      if (!processor.remote) continue;
      processor.remote.claim?.resolve(null);
      processor.remote.claim = undefined;
      this.presence.forgetTimer(processor);
    }
    // Remote runs keep their leases (durable); their processors may report until close().
    for (const run of this.leases.values()) this.clock.clearTimeout(run.lease!.timer);
    const builtinRuns = [...this.runs.values()].filter((run) => !run.lease);
    await Promise.all(builtinRuns.map((run) => this.interrupt(run, false)));
    await this.saveStats();
    this.log.info('dispatcher stopped', { queued: this.policy.size, remoteLeases: this.leases.size });
  }

  /** The store is closing: from now on reports are refused (their clients are gone too). */
  close(): void {
    this.closed = true;
  }

  // ── internals ──────────────────────────────────────────────────────────────────────

  private assertAccepting(): void {
    if (!this.accepting) throw new ConflictError('the server is shutting down; try again shortly');
  }

  private enqueue(entry: QueueEntry): void {
    this.policy.enqueue(entry);
    this.loads.addQueued(entry.userId, 1);
  }

  /** Built-in processors not on their way out, and how many of them are running a job (remote ones scale themselves). */
  private processorCounts(): { processors: number; busy: number } {
    let processors = 0;
    let busy = 0;
    for (const processor of this.processors.values()) {
      if (processor.draining || processor.remote) continue;
      processors++;
      if (processor.run) busy++;
    }
    return { processors, busy };
  }

  private addProcessor(record: ProcessorRecord): Processor {
    const processor: Processor = { record, run: undefined, draining: false };
    this.processors.set(record.id, processor);
    this.idle.add(processor);
    return processor;
  }

  private async createProcessors(count: number): Promise<ProcessorRecord[]> {
    const specs = Array.from({ length: count }, () => ({
      id: crypto.randomUUID(),
      name: `builtin-${this.nextProcessorNumber++}`,
      kind: 'BUILTIN' as const,
    }));
    const records = await this.store.createProcessors(specs);
    for (const record of records) this.addProcessor(record);
    return records;
  }

  /**
   * Starts queued jobs on idle processors until one of them runs out. `now` is the moment
   * the freed processor became free (a completion may be booked a hair ahead of the clock),
   * so a processor's next job never starts before its last one ended.
   */
  private pump(now = this.clock.now()): void {
    if (!this.accepting) return;
    for (const processor of this.idle) {
      const entry = this.policy.take();
      if (!entry) return;
      this.idle.delete(processor);
      this.loads.addQueued(entry.userId, -1);
      this.begin(processor, entry, now);
    }
  }

  private begin(processor: Processor, queued: QueueEntry, now: number): void {
    // A remote attempt always starts afresh: the work of an interrupted built-in run lives
    // in the server, not in the remote processor.
    const resumed = queued.startedAt !== null && !processor.remote;
    // The run's entry describes the attempt it runs, so an interrupted run goes back in
    // line as a resumable attempt (with its start time and attempt count).
    const entry: QueueEntry = resumed
      ? queued
      : { ...queued, attempts: queued.attempts + 1, startedAt: new Date(now), progressMs: 0 };
    const run: Run = {
      entry,
      processor,
      runMs: entry.runMs,
      progressMs: entry.progressMs,
      segmentStart: now,
      timer: undefined,
    };
    processor.run = run;
    this.runs.set(entry.id, run);
    this.loads.addRunning(entry.userId, 1);
    const patch: JobPatch = resumed
      ? { state: 'RUNNING', processorId: processor.record.id }
      : {
          state: 'RUNNING',
          processorId: processor.record.id,
          attempts: entry.attempts,
          startedAt: entry.startedAt,
          progressMs: 0,
          retryAt: null,
        };
    patch.leaseId = null; // set below for a remote run: a RUNNING row names a lease only if it has one
    if (processor.remote) {
      run.lease = { id: crypto.randomUUID(), expiresAt: 0, progress: 0, timer: undefined };
      this.leases.set(run.lease.id, run);
      this.armLease(run, now);
      patch.leaseId = run.lease.id;
      const claim = processor.remote.claim!;
      processor.remote.claim = undefined;
      void this.transition(entry.id, 'QUEUED', patch).then((row) => {
        this.events.jobChanged(row);
        this.events.queueChanged();
        if (claim.signal?.aborted && this.runs.get(entry.id) === run && this.accepting) {
          // The poll's client went away while the lease was being written: nobody will
          // work on it, so the job goes back at once, its attempt not charged.
          claim.resolve(null);
          void this.handBack(run, queued);
          return;
        }
        // Handed over only once durable; if the run already ended meanwhile (cancelled),
        // the processor still gets the lease and learns at its first report.
        claim.resolve({ ...viewOf(run), job: row });
      }, this.options.onFatal);
      return;
    }
    run.timer = this.clock.setTimeout(
      () => void this.complete(run),
      remainingMs({ durationMs: entry.durationMs, progressMs: run.progressMs }),
    );
    void this.transition(entry.id, 'QUEUED', patch).then((row) => {
      this.events.jobChanged(row);
      this.events.queueChanged();
    }, this.options.onFatal);
  }

  private async complete(run: Run): Promise<void> {
    // The timer may fire a hair early by the wall clock; the work is done all the same.
    const now = Math.max(this.clock.now(), run.segmentStart + run.entry.durationMs - run.progressMs);
    const totals = this.endRun(run, now, true);
    const written = this.transition(run.entry.id, 'RUNNING', {
      state: 'SUCCEEDED',
      finishedAt: new Date(now),
      error: null,
      ...totals,
    });
    this.pump(now);
    this.announceFinished(await written);
  }

  /**
   * Books the time worked since the segment began to the job, its processor and its
   * owner, and starts a new segment. Returns the job's totals.
   */
  private book(run: Run, now: number): { runMs: number; progressMs: number } {
    const segment = segmentMs(run, now);
    run.segmentStart = now;
    run.runMs += segment;
    run.progressMs = run.lease
      ? Math.round(run.lease.progress * run.entry.durationMs)
      : Math.min(run.entry.durationMs, run.progressMs + segment);
    const processor = run.processor;
    processor.record = { ...processor.record, busyMs: processor.record.busyMs + segment };
    this.unsavedStats.add(processor);
    this.loads.addProcessorMs(run.entry.userId, segment);
    return { runMs: run.runMs, progressMs: run.progressMs };
  }

  /**
   * Stops a run: books its time and frees its processor (or retires a draining one).
   * The caller persists the job's new state, then calls pump().
   */
  private endRun(run: Run, now: number, completed = false): { runMs: number; progressMs: number } {
    this.clock.clearTimeout(run.timer);
    if (run.lease) {
      this.clock.clearTimeout(run.lease.timer);
      this.leases.delete(run.lease.id);
    }
    const totals = this.book(run, now);
    const { entry, processor } = run;
    this.runs.delete(entry.id);
    this.loads.addRunning(entry.userId, -1);
    // An unfinished run gives back the work it was charged for but did not do.
    this.policy.release(entry.userId, completed ? 0 : entry.durationMs - totals.progressMs);
    processor.run = undefined;
    if (completed) {
      processor.record = { ...processor.record, jobsCompleted: processor.record.jobsCompleted + 1 };
    }
    if (processor.draining) void this.retire(processor).catch(this.options.onFatal);
    else if (processor.remote) this.presence.watch(processor); // ready again only when it claims
    else if (this.processors.has(processor.record.id)) this.idle.add(processor);
    return totals;
  }

  /**
   * Puts a running job back in the queue with the work it has done. It is back in line in
   * memory before the write is issued, so a cancel arriving meanwhile finds it there (and
   * its CANCELLED write commits after this QUEUED one: writes keep their order).
   */
  private async interrupt(run: Run, requeue: boolean): Promise<void> {
    const now = this.clock.now();
    const totals = this.endRun(run, now);
    // A revoked remote attempt cannot be resumed: the job goes back as a new attempt
    // (retryAt marks that in the store), without a backoff: it did not fail.
    const fresh = run.lease !== undefined;
    if (requeue) this.enqueue(fresh ? { ...run.entry, ...totals, startedAt: null, progressMs: 0 } : { ...run.entry, ...totals });
    const patch: JobPatch = fresh
      ? { state: 'QUEUED', processorId: null, runMs: totals.runMs, progressMs: 0, retryAt: new Date(now) }
      : { state: 'QUEUED', processorId: null, ...totals };
    const written = this.transition(run.entry.id, 'RUNNING', patch);
    this.pump();
    this.events.jobChanged(await written);
  }

  private addRemote(record: ProcessorRecord): Processor {
    const processor: Processor = {
      record,
      run: undefined,
      draining: record.state === 'DRAINING',
      remote: { ownerId: record.ownerId ?? '', offline: record.state === 'OFFLINE', silence: undefined },
    };
    this.processors.set(record.id, processor);
    if (this.accepting) this.presence.watch(processor); // during start: armed once it accepts
    return processor;
  }

  /** After a restart: the remote run goes on under its lease, renewed from `now`. */
  private resumeLease(processor: Processor, entry: QueueEntry, job: JobRecord, now: number): void {
    const run: Run = {
      entry,
      processor,
      runMs: job.runMs,
      progressMs: job.progressMs,
      segmentStart: now,
      timer: undefined,
      lease: {
        id: job.leaseId!,
        expiresAt: 0,
        progress: job.durationMs > 0 ? job.progressMs / job.durationMs : 0,
        timer: undefined,
      },
    };
    processor.run = run;
    this.runs.set(entry.id, run);
    this.leases.set(run.lease!.id, run);
    this.loads.addRunning(entry.userId, 1);
    this.policy.occupy(entry.userId);
    // Armed by start() once it accepts: a timer firing while recovery runs would be ignored.
  }

  /** (Re)starts a lease's clock: it expires a lease length from `now` unless renewed. */
  private armLease(run: Run, now: number): void {
    const lease = run.lease!;
    this.clock.clearTimeout(lease.timer);
    lease.expiresAt = now + this.options.leaseMs;
    lease.timer = this.clock.setTimeout(() => this.expire(run), this.options.leaseMs);
  }

  /** A lease ran out: the processor went silent. Its job is retried or dead-lettered. */
  private expire(run: Run): void {
    if (!this.accepting || this.leases.get(run.lease!.id) !== run) return;
    const { processor, entry } = run;
    this.log.info('lease expired', { leaseId: run.lease!.id, job: entry.id, processor: processor.record.name });
    const error = `lease expired: processor "${processor.record.name}" sent no heartbeat for ${this.options.leaseMs} ms (attempt ${entry.attempts})`;
    this.presence.offline(processor); // first, so its silence is counted from OFFLINE (ten lease lengths)
    void this.failRun(run, error, true).catch(() => undefined); // a failed write is already fatal
  }

  /** The run of an active lease; CONFLICT for any other lease id. */
  private activeRun(leaseId: string): Run {
    const run = this.leases.get(leaseId);
    if (!run || this.closed) {
      throw new ConflictError(
        `lease ${leaseId} is not active (unknown, expired, superseded, or its job ended); stop working on it`,
        { leaseId },
      );
    }
    return run;
  }

  /** Ends a failed attempt: back to the queue after a backoff, DEAD, or FAILED. */
  private async failRun(run: Run, error: string, retryable: boolean): Promise<JobRecord> {
    const now = this.clock.now();
    const { entry } = run;
    const outcome = failureOutcome(entry.attempts - entry.attemptsBeforeRetry, entry.maxAttempts, retryable);
    const totals = this.endRun(run, now);
    let patch: JobPatch;
    if (outcome === 'RETRY') {
      // The backoff grows with the attempts since the last retryJob: revived jobs start small.
      const retryAt = now + retryDelayMs(entry.attempts - entry.attemptsBeforeRetry, this.options.retry);
      // After stop() the store's retryAt is enough: the next start holds the job until then.
      if (this.accepting) this.backoffs.add({ ...entry, runMs: totals.runMs, progressMs: 0, startedAt: null }, retryAt);
      // processorId stays: with `error`, it tells who failed the last attempt.
      patch = { state: 'QUEUED', error, retryAt: new Date(retryAt), runMs: totals.runMs, progressMs: 0 };
    } else {
      patch = { state: outcome, finishedAt: new Date(now), error, ...totals };
    }
    const written = this.transition(entry.id, 'RUNNING', patch);
    this.pump();
    const row = await written;
    this.announceFinished(row);
    return row;
  }

  /** Undoes a remote start nobody received: the job is back in line as it was before. */
  private async handBack(run: Run, queued: QueueEntry): Promise<void> {
    const totals = this.endRun(run, this.clock.now());
    this.enqueue({ ...queued, runMs: totals.runMs });
    const written = this.transition(queued.id, 'RUNNING', {
      state: 'QUEUED',
      processorId: null,
      leaseId: null,
      attempts: queued.attempts,
      startedAt: queued.startedAt,
      // A fresh or retried job (startedAt null) starts a new attempt next time.
      retryAt: queued.startedAt === null ? new Date(this.clock.now()) : null,
      runMs: totals.runMs,
      progressMs: queued.progressMs,
    });
    this.pump();
    this.events.jobChanged(await written);
    this.events.queueChanged();
  }

  private retire(processor: Processor): Promise<ProcessorRecord> {
    if (processor.retired) return processor.retired;
    this.processors.delete(processor.record.id);
    this.idle.delete(processor);
    if (processor.remote) {
      this.presence.forgetTimer(processor);
      processor.remote.claim?.resolve(null);
      processor.remote.claim = undefined;
    }
    this.unsavedStats.delete(processor);
    const { jobsCompleted, busyMs } = processor.record;
    processor.retired = this.store
      .updateProcessor(processor.record.id, {
        state: 'OFFLINE',
        removedAt: new Date(this.clock.now()),
        jobsCompleted,
        busyMs,
      })
      .then((record) => {
        processor.record = record;
        this.events.queueChanged();
        return record;
      });
    return processor.retired;
  }

  private announceFinished(row: JobRecord): void {
    this.events.jobChanged(row);
    if (isTerminal(row.state)) this.events.jobFinished(row);
    this.events.queueChanged();
  }

  /** A state change the dispatcher has already made in memory: failing to persist it is fatal. */
  private async transition(id: number, expected: JobRecord['state'], patch: JobPatch): Promise<JobRecord> {
    if (patch.state) assertTransition(expected, patch.state);
    try {
      return await this.store.updateJob(id, expected, patch);
    } catch (error) {
      this.options.onFatal(error);
      throw error;
    }
  }

  private segment(run: Run): number {
    return segmentMs(run, this.clock.now());
  }

  /** A fixed cadence: the next checkpoint does not wait for this one's commit. */
  private scheduleCheckpoint(): void {
    let busy = false;
    const tick = () => {
      if (!this.accepting) return;
      this.checkpointTimer = this.clock.setTimeout(tick, this.options.checkpointMs);
      if (busy) return; // the previous one is still committing
      busy = true;
      void this.checkpoint().finally(() => (busy = false));
    };
    this.checkpointTimer = this.clock.setTimeout(tick, this.options.checkpointMs);
  }

  /**
   * Makes running jobs' time durable, so a crash loses at most one interval of work, and
   * saves processor counters (kept off the per-job path: they are statistics, and a crash
   * costs them at most one interval).
   */
  private async checkpoint(): Promise<void> {
    const now = this.clock.now();
    const writes = [...this.runs.values()].map((run) => {
      const totals = this.book(run, now);
      const id = run.entry.id;
      // The run may end before this commits; its end write then wins, so a refusal is fine.
      return this.store
        .updateJob(id, 'RUNNING', totals)
        .catch((error: unknown) => this.log.debug('checkpoint skipped', { id, error: String(error) }));
    });
    await Promise.all([...writes, this.saveStats()]);
  }

  private async saveStats(): Promise<void> {
    const dirty = [...this.unsavedStats];
    this.unsavedStats.clear();
    await Promise.all(
      dirty.map(({ record: { id, jobsCompleted, busyMs } }) =>
        this.store.updateProcessor(id, { jobsCompleted, busyMs }).catch(this.options.onFatal),
      ),
    );
  }
}
