// What both policies share: every user has a line of queued jobs, kept in the order that
// user's jobs should start, and the users who may start a job now sit in a ready heap
// ordered by a key the policy chooses. The next job is the first job of the first ready
// user. A user at its `maxConcurrent` cap is simply not ready, so it blocks nobody.
//
// A line's states: READY (has a queued job, below its cap: in the ready heap), WAITING
// (has queued jobs but is at its cap, or has none but jobs running), and gone (nothing
// queued, nothing running, nothing the policy still needs to remember).
//
// Cost per decision: O(1) in the user's queued jobs (job-line.ts) plus O(log u) in ready
// users. The ready heap drops entries lazily: a line has one live entry, and entries it
// replaced are skipped when they surface (and swept out when they pile up).
import { Heap } from './heap.ts';
import { JobLine } from './job-line.ts';
import type { Placement, PolicyName, QueuedJob, SchedulingPolicy, SettingsOf, UserSettings } from './policy.ts';

interface ReadyEntry<J> {
  line: Line<J>;
  key: number;
  seq: number;
}

export interface Line<J> {
  readonly userId: string;
  /** Queued jobs in the order they should start. */
  readonly jobs: JobLine<J & QueuedJob>;
  running: number;
  settings: UserSettings;
  /** Place in the ready heap: lower first. */
  key: number;
  /** Breaks ties between equal keys: the order lines became ready in. */
  seq: number;
  /** The line's live entry in the ready heap; set exactly while it may start a job now. */
  entry: ReadyEntry<J> | undefined;
  /** Sum of the costs of the queued jobs (for estimates). */
  queuedCostMs: number;
  /** Weighted-fair bookkeeping (see weighted-fair.ts); unused by fifo. */
  lastStart: number;
  lastCostMs: number;
}

/** The processor time a job still needs; every start costs at least 1 ms, so none is free. */
export const costOf = (job: QueuedJob): number => Math.max(1, job.durationMs - job.progressMs);

/** Whether the line may start a job now (it has a live entry in the ready heap). */
export const isReady = <J>(line: Line<J>): boolean => line.entry !== undefined;

const before = <J>(a: ReadyEntry<J>, b: ReadyEntry<J>) => a.key < b.key || (a.key === b.key && a.seq < b.seq);

export abstract class UserLines<J extends QueuedJob> implements SchedulingPolicy<J> {
  abstract readonly name: PolicyName;
  protected readonly queued = new Map<number, J>();
  protected readonly lines = new Map<string, Line<J>>();
  private ready = new Heap<ReadyEntry<J>>(before);
  private liveEntries = 0;
  private nextSeq = 0;
  private runningTotal = 0;
  /** Bumped on every change, so placements can be cached between changes. */
  private version = 0;
  private cached = { version: -1, placements: new Map<number, Placement>() };

  constructor(protected readonly settingsOf: SettingsOf) {}

  /** Whether a user's own jobs start by priority (then id) rather than by id alone. */
  protected abstract readonly byPriority: boolean;
  /** The key of a line (re-)entering the ready heap; `stayed` if it was ready just before. */
  protected abstract readyKey(line: Line<J>, first: J, stayed: boolean): number;
  /** Called when `job`, the first job of `line`, starts (the line is out of the ready heap). */
  protected abstract started(line: Line<J>, job: J): void;
  /** Whether an idle line (nothing queued or running) may be forgotten. */
  protected abstract forgettable(line: Line<J>): boolean;
  /**
   * 1-based places in line of consecutive jobs of one line: `jobs[i]` has `firstAhead + i`
   * of the line's own jobs ahead of it.
   */
  protected abstract positionsOf(line: Line<J>, jobs: readonly J[], firstAhead: number): number[];
  /** A run of this line ended with `unusedMs` of the work it was charged for left undone. */
  protected refund(_line: Line<J>, _unusedMs: number): void {}
  /** The line has nothing queued or running but is kept (not forgettable yet). */
  protected idled(_line: Line<J>): void {}
  /** Nothing is queued or running any more: every line has been forgotten. */
  protected busyPeriodEnded(): void {}

  get size(): number {
    return this.queued.size;
  }

  has(id: number): boolean {
    return this.queued.has(id);
  }

  enqueue(job: J): void {
    if (this.queued.has(job.id)) return;
    this.queued.set(job.id, job);
    const line = this.line(job.userId);
    line.jobs.insert(job);
    line.queuedCostMs += costOf(job);
    this.update(line);
  }

  remove(id: number): boolean {
    const job = this.queued.get(id);
    if (!job) return false;
    this.queued.delete(id);
    const line = this.lines.get(job.userId)!;
    line.jobs.erase(job);
    line.queuedCostMs -= costOf(job);
    this.update(line);
    return true;
  }

  take(): J | undefined {
    const line = this.firstReady();
    if (!line) return undefined;
    this.leaveReady(line);
    const job = line.jobs.front()!;
    line.jobs.erase(job);
    line.queuedCostMs -= costOf(job);
    this.queued.delete(job.id);
    line.running++;
    this.runningTotal++;
    this.started(line, job);
    this.update(line);
    return job;
  }

  occupy(userId: string): void {
    const line = this.line(userId);
    line.running++;
    this.runningTotal++;
    this.update(line);
  }

  release(userId: string, unusedMs = 0): void {
    const line = this.lines.get(userId);
    if (!line || line.running === 0) return;
    line.running--;
    this.runningTotal--;
    if (unusedMs > 0) this.refund(line, unusedMs);
    this.update(line);
  }

  refresh(userIds?: Iterable<string>): void {
    for (const userId of userIds ?? [...this.lines.keys()]) {
      const line = this.lines.get(userId);
      if (!line) continue;
      line.settings = this.settingsOf(userId);
      this.update(line);
    }
  }

  placement(id: number): Placement | undefined {
    const job = this.queued.get(id);
    if (!job) return undefined;
    const cache = this.placementCache();
    let placement = cache.get(id);
    if (!placement) {
      const line = this.lines.get(job.userId)!;
      const ownAhead = line.jobs.rank(job);
      placement = { position: this.positionsOf(line, [job], ownAhead)[0]!, ownAhead };
      cache.set(id, placement);
    }
    return placement;
  }

  private placementCache(): Map<number, Placement> {
    if (this.cached.version !== this.version) this.cached = { version: this.version, placements: new Map() };
    return this.cached.placements;
  }

  lineOf(userId: string, limit: number): J[] {
    const line = this.lines.get(userId);
    if (!line) return [];
    const jobs = line.jobs.first(limit);
    const cache = this.placementCache();
    if (jobs.some((job) => !cache.has(job.id))) {
      const positions = this.positionsOf(line, jobs, 0);
      jobs.forEach((job, i) => cache.set(job.id, { position: positions[i]!, ownAhead: i }));
    }
    return jobs;
  }

  *jobs(): Iterable<J> {
    yield* this.queued.values();
  }

  protected line(userId: string): Line<J> {
    let line = this.lines.get(userId);
    if (!line) {
      line = {
        userId,
        jobs: new JobLine<J>(this.byPriority),
        running: 0,
        settings: this.settingsOf(userId),
        key: 0,
        seq: 0,
        entry: undefined,
        queuedCostMs: 0,
        lastStart: 0,
        lastCostMs: 0,
      };
      this.lines.set(userId, line);
    }
    return line;
  }

  protected atCap(line: Line<J>): boolean {
    const cap = line.settings.maxConcurrent;
    return cap !== undefined && line.running >= cap;
  }

  /** The ready line whose turn it is, skipping entries that were replaced. */
  private firstReady(): Line<J> | undefined {
    for (let top = this.ready.peek(); top; top = this.ready.peek()) {
      if (top.line.entry === top) return top.line;
      this.ready.pop();
    }
    return undefined;
  }

  private leaveReady(line: Line<J>): void {
    if (!line.entry) return;
    line.entry = undefined;
    this.liveEntries--;
  }

  /** Puts the line where it belongs (ready or not) after anything about it changed. */
  private update(line: Line<J>): void {
    this.version++;
    const stayed = isReady(line);
    const first = line.jobs.front();
    if (first !== undefined && !this.atCap(line)) {
      const key = this.readyKey(line, first, stayed);
      if (stayed && key === line.key) return; // same place in the ready heap
      this.leaveReady(line);
      line.key = key;
      if (!stayed) line.seq = this.nextSeq++;
      line.entry = { line, key, seq: line.seq };
      this.liveEntries++;
      this.ready.push(line.entry);
      if (this.ready.size > 2 * this.liveEntries + 1024) this.sweep();
      return;
    }
    this.leaveReady(line);
    if (!first && line.running === 0) {
      if (this.forgettable(line)) this.lines.delete(line.userId);
      else this.idled(line);
    }
    if (this.queued.size === 0 && this.runningTotal === 0 && this.lines.size > 0) {
      // End of a busy period: nobody has work, so nobody keeps credit or debt.
      this.lines.clear();
      this.ready = new Heap<ReadyEntry<J>>(before);
      this.liveEntries = 0;
      this.busyPeriodEnded();
    }
  }

  /** Rebuilds the ready heap from live entries (once replaced ones outnumber them). */
  protected sweep(): void {
    this.ready = new Heap<ReadyEntry<J>>(before);
    for (const line of this.lines.values()) if (line.entry) this.ready.push(line.entry);
  }
}
