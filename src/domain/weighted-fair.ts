// Weighted-fair: Start-time Fair Queueing (SFQ) over users.
//
//   P. Goyal, H. M. Vin, H. Cheng, "Start-time Fair Queueing: A Scheduling Algorithm for
//   Integrated Services Packet Switching Networks", IEEE/ACM Transactions on Networking
//   5(5):690–704, 1997 (SIGCOMM '96).
//
// Each user is a flow whose packets are jobs and whose packet length is the processor time
// a job needs (known up front: its remaining duration, at least 1 ms). A user's line gets a
// start tag when it becomes ready:
//
//     S = max(v, F)   where F = S_last + cost_last / weight   (the user's finish tag)
//
// and the ready user with the smallest start tag (ties: whoever became ready first) starts
// its first job. The virtual time v is the start tag of the last job started. Because
// tags are per user and computed when a line becomes ready, a user's own jobs can be in
// any order (we use priority, then submission order), and a weight change re-tags that
// user's waiting line at once.
//
// Guarantees (for the sequence of starts, whatever the number of processors, since every
// processor takes the next job in this one order):
// - Fairness (SFQ, Theorem 1): over any run of starts during which users f and m both
//   stay backlogged and below their caps, the processor time W given to each satisfies
//       | W_f / w_f − W_m / w_m |  ≤  L_f / w_f + L_m / w_m
//   where L is the longest job cost of that user. With equal job lengths this is one job.
// - No starvation: a backlogged user f's next job starts before other users m receive
//   more than  w_m · L_f / w_f + L_m  of processor time each. A user with nothing queued
//   banks no credit (S = max(v, F)) and a newcomer starts at S = v, so it goes after at
//   most one job from each user already waiting: within (active users) starts.
//
// Cost: O(1) in the user's queued jobs plus O(log u) in ready users per decision.
import { Heap } from './heap.ts';
import type { QueuedJob, SettingsOf } from './policy.ts';
import { costOf, isReady, UserLines, type Line } from './user-lines.ts';

/** Tags are rebased to 0 past this, keeping enough precision for 1 ms ÷ weight 1000. */
const REBASE_AT = 2 ** 40;

export class WeightedFairPolicy<J extends QueuedJob = QueuedJob> extends UserLines<J> {
  readonly name = 'weighted-fair' as const;
  /** v: the start tag of the last job started. Never decreases. */
  private virtualTime = 0;

  constructor(settingsOf: SettingsOf = () => ({ weight: 1, maxConcurrent: undefined })) {
    super(settingsOf);
  }

  /** Idle users still ahead of v (they used more than their share), by finish tag. */
  private debtors = this.newDebtors();

  /** A user's own jobs: higher priority first, then submission order. */
  protected readonly byPriority = true;

  protected readyKey(line: Line<J>): number {
    // Never below v, not even after a weight change re-tags a line that stays ready: a tag
    // in the past would hand the user service for time before the change (breaking the
    // fairness bound for the windows that follow, by up to one job at the old weight).
    // Without a weight change this is the line's previous key: ready keys are never below v.
    return Math.max(this.virtualTime, this.finishTag(line));
  }

  protected started(line: Line<J>, job: J): void {
    this.virtualTime = Math.max(this.virtualTime, line.key);
    line.lastStart = line.key;
    line.lastCostMs = costOf(job);
    this.forgetPaidUp();
    if (this.virtualTime > REBASE_AT) this.rebase();
  }

  /** Work charged at the start but not done (interrupted or cancelled) is given back. */
  protected override refund(line: Line<J>, unusedMs: number): void {
    line.lastCostMs -= unusedMs; // S = max(v, F) still keeps a refund from becoming credit
  }

  protected override idled(line: Line<J>): void {
    this.debtors.push({ line, finish: this.finishTag(line) });
  }

  /** A new busy period starts from scratch (SFQ: nobody carries tags across idle time). */
  protected override busyPeriodEnded(): void {
    this.virtualTime = 0;
    this.debtors = this.newDebtors();
  }

  /** Forgets idle users whose debt v has caught up with, so lines stay those with work. */
  private forgetPaidUp(): void {
    for (let top = this.debtors.peek(); top && top.finish <= this.virtualTime; top = this.debtors.peek()) {
      this.debtors.pop();
      const { line } = top;
      const idle = this.lines.get(line.userId) === line && line.jobs.size() === 0 && line.running === 0;
      if (!idle) continue; // busy again: it is pushed anew when it next goes idle
      if (this.finishTag(line) <= this.virtualTime) this.lines.delete(line.userId);
      else this.debtors.push({ line, finish: this.finishTag(line) }); // re-weighted meanwhile
    }
  }

  /** Shifts every tag down by v (keys all move alike, so the order of starts holds). */
  private rebase(): void {
    const shift = this.virtualTime;
    for (const line of this.lines.values()) {
      line.lastStart -= shift;
      line.key -= shift;
      if (line.entry) line.entry.key -= shift;
    }
    this.sweep(); // replaced entries kept their old keys: leave them behind
    this.virtualTime = 0;
    const idle = [...this.lines.values()].filter((l) => l.jobs.size() === 0 && l.running === 0);
    this.debtors = this.newDebtors();
    for (const line of idle) this.idled(line);
  }

  /** A line ahead of virtual time remembers its debt until v catches up. */
  protected forgettable(line: Line<J>): boolean {
    return this.finishTag(line) <= this.virtualTime;
  }

  /**
   * Estimated places in line: a job's projected start tag T is its line's tag plus the
   * average cost of the jobs before it, over the weight; then, for every other user with
   * jobs queued, count how many of theirs have projected tags before T. Assumes no new work
   * and ignores caps. O(users with queued jobs) for one job; a run of one user's jobs
   * shares that pass (their tags grow, so a user that is wholly ahead or behind is settled
   * at once).
   */
  protected positionsOf(line: Line<J>, jobs: readonly J[], firstAhead: number): number[] {
    const ownStep = this.averageCost(line) / line.settings.weight;
    const tags = jobs.map((_job, i) => this.projectedTag(line, firstAhead + i));
    const ahead = jobs.map((_job, i) => firstAhead + i);
    const last = tags.length - 1;
    for (const other of this.lines.values()) {
      const queued = other.jobs.size();
      if (other === line || queued === 0) continue;
      const start = this.currentTag(other);
      if (start > tags[last]! * (1 + 1e-9) + 1e-9) continue; // starts after all of them
      const step = this.averageCost(other) / other.settings.weight;
      for (let i = 0; i <= last; i++) {
        // Jobs of `other` projected at start, start + step, …: those before the tag go
        // first; on a tie (compared with a tolerance, as tags are sums of fractions), the
        // one whose line enters the ready set first does.
        const k = (tags[i]! - start) / step;
        const nearest = Math.round(k);
        const tied = k >= 0 && Math.abs(k - nearest) <= 1e-9 * Math.max(1, nearest);
        const before = tied
          ? nearest + (this.firstOnTie(other, nearest, step, line, firstAhead + i, ownStep) ? 1 : 0)
          : Math.ceil(k);
        if (before >= queued) {
          for (let rest = i; rest <= last; rest++) ahead[rest]! += queued; // all of them, from here on
          break;
        }
        ahead[i]! += Math.max(0, before);
      }
    }
    return ahead.map((n) => n + 1);
  }

  /**
   * Whether job k of `other` starts before job i of `line` when their tags are equal. A job
   * after a line's first enters the ready set when the job before it starts, so: a first job
   * (already ready) goes before a later one; two later jobs go in the order their
   * predecessors start (the larger step had the earlier tag; equal steps: the same question
   * one job back); two first jobs go in the order their lines became ready.
   */
  private firstOnTie(other: Line<J>, k: number, step: number, line: Line<J>, i: number, ownStep: number): boolean {
    if (k === 0 || i === 0) return k === i ? isReady(other) && other.seq < line.seq : k === 0;
    if (step !== ownStep) return step > ownStep;
    return k === i ? isReady(other) && other.seq < line.seq : k < i;
  }

  private newDebtors() {
    return new Heap<{ line: Line<J>; finish: number }>((a, b) => a.finish < b.finish);
  }

  private finishTag(line: Line<J>): number {
    return line.lastStart + line.lastCostMs / line.settings.weight;
  }

  /** The tag a line has, or would get if it became ready now. */
  private currentTag(line: Line<J>): number {
    return isReady(line) ? line.key : Math.max(this.virtualTime, this.finishTag(line));
  }

  private projectedTag(line: Line<J>, ownAhead: number): number {
    return this.currentTag(line) + (ownAhead * this.averageCost(line)) / line.settings.weight;
  }

  private averageCost(line: Line<J>): number {
    return Math.max(1, line.queuedCostMs / Math.max(1, line.jobs.size()));
  }
}
