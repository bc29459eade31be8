// Jobs waiting out a retry backoff. They are QUEUED but not yet in the scheduling policy:
// each joins the line when its backoff ends, so a failing job cannot hold a processor
// hostage and the policy never has to know about time.
import type { Clock } from '../domain/clock.ts';

interface Waiting<E> {
  entry: E;
  timer: unknown;
}

export class BackoffQueue<E extends { id: number; userId: string }> {
  private readonly waiting = new Map<number, Waiting<E>>();

  constructor(
    private readonly clock: Clock,
    /** Called when an entry's backoff ends. */
    private readonly release: (entry: E) => void,
  ) {}

  get size(): number {
    return this.waiting.size;
  }

  /** Holds `entry` until clock time `at`. */
  add(entry: E, at: number): void {
    const timer = this.clock.setTimeout(
      () => {
        this.waiting.delete(entry.id);
        this.release(entry);
      },
      Math.max(0, at - this.clock.now()),
    );
    this.waiting.set(entry.id, { entry, timer });
  }

  /** Takes a job out (cancelled); undefined when it is not waiting. */
  remove(id: number): E | undefined {
    const waiting = this.waiting.get(id);
    if (!waiting) return undefined;
    this.clock.clearTimeout(waiting.timer);
    this.waiting.delete(id);
    return waiting.entry;
  }

  /** Stops every timer (the dispatcher is stopping; the store keeps each job's retryAt). */
  clear(): void {
    for (const { timer } of this.waiting.values()) this.clock.clearTimeout(timer);
    this.waiting.clear();
  }
}
