// The dispatcher owns the truth about what runs where. It keeps the queue in memory (in
// the scheduling policy), matches queued jobs to idle built-in processors, and makes every
// change durable through the store *before* it announces it or acknowledges a caller.
//
// Built-in processors "work" for a job's remaining duration on a timer. While a job runs,
// its time is checkpointed every `checkpointMs`, so an interruption (graceful stop, crash,
// processor removed without draining) loses at most one checkpoint of work: the job goes
// back to the queue at its original place and later resumes with the work already done.
import type { Clock } from '../domain/clock.ts';
import { ConflictError, NotFoundError } from '../domain/errors.ts';
import { DEFAULT_PRIORITY, sameSpec, type JobSpec } from '../domain/validation.ts';
import { assertTransition, isTerminal, progressOf, remainingMs, segmentMs, type JobRecord } from '../domain/job.ts';
import type { LoadSample } from '../domain/autoscale.ts';
import { createPolicy } from '../domain/policies.ts';
import type { PolicyName, QueuedJob, SchedulingPolicy } from '../domain/policy.ts';
import type { ProcessorRecord } from '../domain/processor.ts';
import { RuleBook, type ResolvedSettings, type Rules, type UserAttributes } from '../domain/rules.ts';
import type { Logger } from '../log.ts';
import type { DispatcherEvents, DispatcherStore, JobPatch, NewJob } from './ports.ts';
import { UserLoads } from './user-loads.ts';

/** A queued job as the dispatcher remembers it: enough to start it, nothing more. */
export interface QueueEntry extends QueuedJob {
  runMs: number;
  progressMs: number;
  attempts: number;
  /** Set when the job was interrupted mid-attempt: starting it again resumes that attempt. */
  startedAt: Date | null;
}

interface Run {
  entry: QueueEntry;
  processor: BuiltinProcessor;
  /** Totals as of the last checkpoint. */
  runMs: number;
  progressMs: number;
  /** Clock time the current segment of work began. */
  segmentStart: number;
  timer: unknown;
}

interface BuiltinProcessor {
  record: ProcessorRecord;
  run: Run | undefined;
  /** Finishing its job, then retiring (removeProcessor). */
  draining: boolean;
  /** Set once retired: the write that records it OFFLINE. */
  retired?: Promise<ProcessorRecord>;
}

export interface LiveJob {
  /** Processing time over all attempts, including the current segment. */
  runMs: number;
  elapsedMs: number;
  progress: number;
}

export interface LiveProcessor {
  state: ProcessorRecord['state'];
  currentJobId: number | null;
  jobsCompleted: number;
  busyMs: number;
}

export interface UserLoad {
  userId: string;
  queued: number;
  running: number;
  processorMs: number;
}

/** Why a queued job waits, and what decides its turn. */
export interface JobExplanation {
  policy: PolicyName;
  reason: 'NO_PROCESSORS' | 'AT_MAX_CONCURRENT' | 'BEHIND_OWN_JOBS' | 'NEXT_IN_LINE' | 'WAITING_FOR_TURN';
  position: number;
  ownAhead: number;
  settings: ResolvedSettings;
  /** The user's entitled share of processor time among users with work now (0–1). */
  share: number;
  running: number;
  queued: number;
}

export interface DispatcherOptions {
  store: DispatcherStore;
  events: DispatcherEvents;
  policy: PolicyName;
  rules: Rules;
  clock: Clock;
  log: Logger;
  /** How often running jobs' time is made durable. */
  checkpointMs: number;
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
  private readonly processors = new Map<string, BuiltinProcessor>();
  /** Idle processors, in the order they became idle (longest idle first). */
  private readonly idle = new Set<BuiltinProcessor>();
  private readonly runs = new Map<number, Run>();
  /** Processors whose counters changed since the last checkpoint. */
  private readonly unsavedStats = new Set<BuiltinProcessor>();
  private readonly loads: UserLoads;
  /** Submissions not yet committed, so a concurrent duplicate waits for the first. */
  private readonly inFlight = new Map<string, Promise<JobRecord | undefined>>();
  private nextJobId = 1;
  private nextProcessorNumber = 1;
  private accepting = false;
  private checkpointTimer: unknown;

  constructor(private readonly options: DispatcherOptions) {
    this.store = options.store;
    this.events = options.events;
    this.ruleBook = new RuleBook(options.rules);
    this.loads = new UserLoads((userId) => this.ruleBook.resolve(userId).weight);
    this.policy = createPolicy(options.policy, (userId) => this.ruleBook.resolve(userId));
    this.clock = options.clock;
    this.log = options.log;
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

    let recovered = 0;
    for await (let job of this.store.loadUnfinishedJobs()) {
      if (job.state === 'RUNNING') {
        // Interrupted by a crash: back in line at its place, resuming from the last checkpoint.
        job = await this.store.updateJob(job.id, 'RUNNING', { state: 'QUEUED', processorId: null });
        recovered++;
      }
      this.enqueue(entryOf(job));
    }

    const existing = await this.store.loadBuiltinProcessors();
    this.nextProcessorNumber =
      Math.max(0, ...existing.map((p) => Number(/^builtin-(\d+)$/.exec(p.name)?.[1] ?? 0))) + 1;
    // A processor being drained when the server stopped was on its way out: retire it.
    const keep = existing.filter((p) => p.state !== 'DRAINING').slice(0, builtinProcessors);
    const now = new Date(this.clock.now());
    for (const record of existing.filter((p) => !keep.includes(p))) {
      await this.store.updateProcessor(record.id, { state: 'OFFLINE', removedAt: now });
    }
    for (const record of keep) {
      this.addProcessor(record.state === 'IDLE' ? record : await this.store.updateProcessor(record.id, { state: 'IDLE' }));
    }
    if (builtinProcessors > keep.length) await this.createProcessors(builtinProcessors - keep.length);

    this.log.info('dispatcher started', {
      policy: this.policy.name,
      queued: this.policy.size,
      recoveredRunning: recovered,
      processors: this.processors.size,
    });
    this.accepting = true;
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
    if (this.policy.remove(job.id)) {
      this.loads.addQueued(job.userId, -1);
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
   * Removes a built-in processor. Idle: removed at once. Busy with `drain`: finishes its
   * job first (state DRAINING meanwhile). Busy without `drain`: its job goes back to the
   * queue at its original place, keeping the work done, and the processor is removed.
   */
  async removeProcessor(id: string, drain: boolean): Promise<ProcessorRecord> {
    const processor = this.processors.get(id);
    if (!processor) throw new NotFoundError(`no active built-in processor with id "${id}"`);
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

  /** Live values for a running job. */
  liveJob(id: number): LiveJob | undefined {
    const run = this.runs.get(id);
    if (!run) return undefined;
    const segment = this.segment(run);
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
      state: processor.draining ? 'DRAINING' : run ? 'BUSY' : 'IDLE',
      currentJobId: run?.entry.id ?? null,
      jobsCompleted: processor.record.jobsCompleted,
      busyMs: processor.record.busyMs + (run ? this.segment(run) : 0),
    };
  }

  processorIds(): string[] {
    return [...this.processors.keys()];
  }

  totals(): { queued: number; running: number; processors: number } {
    return { queued: this.policy.size, running: this.runs.size, processors: this.processors.size };
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

  /** Why a queued job waits; undefined when it is not queued. */
  explain(id: number, userId: string): JobExplanation | undefined {
    const placement = this.policy.placement(id);
    if (!placement) return undefined;
    const settings = this.ruleBook.resolve(userId);
    const running = this.loads.runningOf(userId);
    const reason =
      this.processorCounts().processors === 0
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
    const leaving = [...this.processors.values()].filter((p) => !p.draining);
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
    await Promise.all([...this.runs.values()].map((run) => this.interrupt(run, false)));
    await this.saveStats();
    this.log.info('dispatcher stopped', { queued: this.policy.size });
  }

  // ── internals ──────────────────────────────────────────────────────────────────────

  private assertAccepting(): void {
    if (!this.accepting) throw new ConflictError('the server is shutting down; try again shortly');
  }

  private enqueue(entry: QueueEntry): void {
    this.policy.enqueue(entry);
    this.loads.addQueued(entry.userId, 1);
  }

  /** Built-in processors not on their way out, and how many of them are running a job. */
  private processorCounts(): { processors: number; busy: number } {
    let processors = 0;
    let busy = 0;
    for (const processor of this.processors.values()) {
      if (processor.draining) continue;
      processors++;
      if (processor.run) busy++;
    }
    return { processors, busy };
  }

  private addProcessor(record: ProcessorRecord): BuiltinProcessor {
    const processor: BuiltinProcessor = { record, run: undefined, draining: false };
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

  private begin(processor: BuiltinProcessor, queued: QueueEntry, now: number): void {
    const resumed = queued.startedAt !== null;
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
    run.timer = this.clock.setTimeout(
      () => void this.complete(run),
      remainingMs({ durationMs: entry.durationMs, progressMs: run.progressMs }),
    );
    const patch: JobPatch = resumed
      ? { state: 'RUNNING', processorId: processor.record.id }
      : {
          state: 'RUNNING',
          processorId: processor.record.id,
          attempts: entry.attempts,
          startedAt: entry.startedAt,
          progressMs: 0,
        };
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
    run.progressMs = Math.min(run.entry.durationMs, run.progressMs + segment);
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
    else if (this.processors.has(processor.record.id)) this.idle.add(processor);
    return totals;
  }

  /**
   * Puts a running job back in the queue with the work it has done. It is back in line in
   * memory before the write is issued, so a cancel arriving meanwhile finds it there (and
   * its CANCELLED write commits after this QUEUED one: writes keep their order).
   */
  private async interrupt(run: Run, requeue: boolean): Promise<void> {
    const totals = this.endRun(run, this.clock.now());
    if (requeue) this.enqueue({ ...run.entry, ...totals });
    const written = this.transition(run.entry.id, 'RUNNING', { state: 'QUEUED', processorId: null, ...totals });
    this.pump();
    this.events.jobChanged(await written);
  }

  private retire(processor: BuiltinProcessor): Promise<ProcessorRecord> {
    if (processor.retired) return processor.retired;
    this.processors.delete(processor.record.id);
    this.idle.delete(processor);
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

function entryOf(job: JobRecord): QueueEntry {
  return {
    id: job.id,
    userId: job.userId,
    durationMs: job.durationMs,
    priority: job.priority ?? DEFAULT_PRIORITY,
    runMs: job.runMs,
    progressMs: job.progressMs,
    attempts: job.attempts,
    startedAt: job.startedAt,
  };
}

function specOf(job: JobRecord): JobSpec {
  return {
    jobId: job.jobId,
    durationMs: job.durationMs,
    priority: job.priority,
    payload: job.payload,
    maxAttempts: job.maxAttempts,
  };
}
