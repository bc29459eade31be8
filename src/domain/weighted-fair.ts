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
// Cost: O(log n) in the user's queued jobs plus O(log u) in ready users per decision.
import type { QueuedJob, SettingsOf } from './policy.ts';
import { costOf, UserLines, type Line } from './user-lines.ts';

export class WeightedFairPolicy<J extends QueuedJob = QueuedJob> extends UserLines<J> {
  readonly name = 'weighted-fair' as const;
  /** v: the start tag of the last job started. Never decreases. */
  private virtualTime = 0;

  constructor(settingsOf: SettingsOf = () => ({ weight: 1, maxConcurrent: undefined })) {
    super(settingsOf);
  }

  override take(): J | undefined {
    const job = super.take();
    // Nothing left to compare against: restart the tags at 0, so they never grow so large
    // that a short job's cost is lost in floating-point rounding.
    if (!job && this.lines.size === 0) this.virtualTime = 0;
    return job;
  }

  /** Higher priority first, then submission order. */
  protected jobOrder(a: J, b: J): number {
    return b.priority - a.priority || a.id - b.id;
  }

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
  }

  /** A line ahead of virtual time remembers its debt until v catches up. */
  protected forgettable(line: Line<J>): boolean {
    return this.finishTag(line) <= this.virtualTime;
  }

  /**
   * Estimated place in line: the job's projected start tag T (its line's tag plus the
   * average cost of the jobs before it, over the weight), then, for every other user with
   * jobs queued, how many of theirs have projected tags before T. Assumes no new work and
   * ignores caps. O(users with queued jobs).
   */
  protected positionOf(_job: J, line: Line<J>, ownAhead: number): number {
    const tag = this.projectedTag(line, ownAhead);
    const ownStep = this.averageCost(line) / line.settings.weight;
    let ahead = ownAhead;
    for (const other of this.lines.values()) {
      const queued = other.jobs.size();
      if (other === line || queued === 0) continue;
      const start = this.currentTag(other);
      const step = this.averageCost(other) / other.settings.weight;
      // Jobs of `other` projected at start, start + step, …: those before `tag` go first;
      // on an exact tie (other's job k), the one whose line enters the ready set first does.
      const k = (tag - start) / step;
      const tie = k >= 0 && Number.isInteger(k) && this.firstOnTie(other, k, step, line, ownAhead, ownStep);
      ahead += Math.min(queued, Math.max(0, Math.ceil(k)) + (tie ? 1 : 0));
    }
    return ahead + 1;
  }

  /**
   * Whether job k of `other` starts before job i of `line` when their tags are equal. A job
   * after a line's first enters the ready set when the job before it starts, so: a first job
   * (already ready) goes before a later one; two later jobs go in the order their
   * predecessors start (the larger step had the earlier tag; equal steps: the same question
   * one job back); two first jobs go in the order their lines became ready.
   */
  private firstOnTie(other: Line<J>, k: number, step: number, line: Line<J>, i: number, ownStep: number): boolean {
    if (k === 0 || i === 0) return k === i ? other.ready && other.seq < line.seq : k === 0;
    if (step !== ownStep) return step > ownStep;
    return k === i ? other.ready && other.seq < line.seq : k < i;
  }

  private finishTag(line: Line<J>): number {
    return line.lastStart + line.lastCostMs / line.settings.weight;
  }

  /** The tag a line has, or would get if it became ready now. */
  private currentTag(line: Line<J>): number {
    return line.ready ? line.key : Math.max(this.virtualTime, this.finishTag(line));
  }

  private projectedTag(line: Line<J>, ownAhead: number): number {
    return this.currentTag(line) + (ownAhead * this.averageCost(line)) / line.settings.weight;
  }

  private averageCost(line: Line<J>): number {
    return Math.max(1, line.queuedCostMs / Math.max(1, line.jobs.size()));
  }
}
