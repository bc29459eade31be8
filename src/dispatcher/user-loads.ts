// Per-user counts the dispatcher keeps beside the policy: queued and running jobs,
// processor time, and the summed weight of the users with work (for shares). The sum is
// kept as users gain or run out of work, so reading a share is O(1).

export class UserLoads {
  private readonly queued = new Map<string, number>();
  private readonly running = new Map<string, number>();
  private readonly processorMs = new Map<string, number>();
  /** Users with queued or running work → the weight counted for them in `weightSum`. */
  private readonly weights = new Map<string, number>();
  private weightSum = 0;

  constructor(private readonly weightOf: (userId: string) => number) {}

  queuedOf(userId: string): number {
    return this.queued.get(userId) ?? 0;
  }

  runningOf(userId: string): number {
    return this.running.get(userId) ?? 0;
  }

  processorMsOf(userId: string): number {
    return this.processorMs.get(userId) ?? 0;
  }

  addQueued(userId: string, delta: number): void {
    bump(this.queued, userId, delta);
    this.touch(userId);
  }

  addRunning(userId: string, delta: number): void {
    bump(this.running, userId, delta);
    this.touch(userId);
  }

  addProcessorMs(userId: string, ms: number): void {
    bump(this.processorMs, userId, ms);
  }

  /** Users with queued or running work. */
  active(): Iterable<string> {
    return this.weights.keys();
  }

  /** [user, queued jobs] for every user with jobs queued. */
  queuedByUser(): Iterable<[string, number]> {
    return this.queued.entries();
  }

  /** The weights of all users with work, summed (plus `alsoUserId`'s if it has none). */
  activeWeight(alsoUserId?: string): number {
    if (alsoUserId === undefined || this.weights.has(alsoUserId)) return this.weightSum;
    return this.weightSum + this.weightOf(alsoUserId);
  }

  /** Re-reads every active user's weight (after rules or a user changed). */
  reweigh(): void {
    this.weightSum = 0;
    for (const userId of this.weights.keys()) {
      const weight = this.weightOf(userId);
      this.weights.set(userId, weight);
      this.weightSum += weight;
    }
  }

  private touch(userId: string): void {
    const active = this.queued.has(userId) || this.running.has(userId);
    const counted = this.weights.get(userId);
    if (active && counted === undefined) {
      const weight = this.weightOf(userId);
      this.weights.set(userId, weight);
      this.weightSum += weight;
    } else if (!active && counted !== undefined) {
      this.weights.delete(userId);
      this.weightSum = this.weights.size === 0 ? 0 : this.weightSum - counted;
    }
  }
}

function bump(map: Map<string, number>, key: string, delta: number): void {
  const value = (map.get(key) ?? 0) + delta;
  if (value === 0) map.delete(key);
  else map.set(key, value);
}
