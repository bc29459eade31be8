// Autoscaling for built-in processors: how many there should be, from what the queue looks
// like, on an injected clock (the caller passes `now`).
//
// Each observation gives a recommendation:
//     clamp( max(busy, ceil(runnable / targetBacklog)), min, max )
// i.e. enough processors that at most `targetBacklog` runnable jobs wait per processor,
// never fewer than those busy right now. Scaling up is immediate. Scaling down waits
// until every recommendation over the last `scaleDownDelayMs` was lower than the current
// count, then goes to the highest of them (a stabilization window, as Kubernetes' HPA
// does), so a short lull does not remove processors that are needed again a moment later.
import { BadInputError } from './errors.ts';

export interface AutoscaleSettings {
  enabled: boolean;
  min: number;
  max: number;
  /** Runnable queued jobs allowed to wait per processor before scaling up. */
  targetBacklog: number;
  /** How long the load must stay low before processors are removed. */
  scaleDownDelayMs: number;
}

export const AUTOSCALE_OFF: AutoscaleSettings = {
  enabled: false,
  min: 1,
  max: 8,
  targetBacklog: 10,
  scaleDownDelayMs: 30_000,
};

export interface LoadSample {
  /** Built-in processors not on their way out. */
  processors: number;
  /** Of those, the ones running a job. */
  busy: number;
  /** Queued jobs that could start now if a processor were free (users below their cap). */
  runnable: number;
}

export interface ScaleDecision {
  at: number;
  from: number;
  to: number;
  reason: string;
}

const MAX_DELAY_MS = 24 * 3_600_000;

export function validateAutoscale(settings: AutoscaleSettings, maxProcessors: number): AutoscaleSettings {
  const check = (field: keyof AutoscaleSettings, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new BadInputError(`${field} must be a whole number from ${min} to ${max} (got ${value})`, { field });
    }
  };
  check('min', settings.min, 0, maxProcessors);
  check('max', settings.max, 1, maxProcessors);
  check('targetBacklog', settings.targetBacklog, 1, 1_000_000);
  check('scaleDownDelayMs', settings.scaleDownDelayMs, 0, MAX_DELAY_MS);
  if (settings.min > settings.max) {
    throw new BadInputError(`min (${settings.min}) must not exceed max (${settings.max})`, { field: 'min' });
  }
  return settings;
}

export class Autoscaler {
  /**
   * Recommendations of the last scaleDownDelayMs as a sliding-window maximum: oldest first,
   * each smaller than the one before, so the first is the window's maximum. It holds at
   * most max + 1 entries however long the delay and short the interval.
   */
  private window: Array<{ at: number; wanted: number }> = [];
  private windowStart: number | undefined;

  constructor(private settings: AutoscaleSettings) {}

  get current(): AutoscaleSettings {
    return this.settings;
  }

  configure(settings: AutoscaleSettings): void {
    this.settings = settings;
    this.reset();
  }

  /** The recommendation for one observation, before any stabilization. */
  recommend(sample: LoadSample): number {
    const { min, max, targetBacklog } = this.settings;
    const forBacklog = Math.ceil(sample.runnable / targetBacklog);
    return Math.min(max, Math.max(min, sample.busy, forBacklog));
  }

  /** Observes the load at `now`; returns a decision when the processor count should change. */
  observe(now: number, sample: LoadSample): ScaleDecision | undefined {
    if (!this.settings.enabled) return undefined;
    const { min, max, targetBacklog, scaleDownDelayMs } = this.settings;
    const from = sample.processors;
    const wanted = this.recommend(sample);

    // Below the minimum with a backlog that needs more: the scale-up below goes straight there.
    if (from < min && wanted === min) return this.decide(now, from, min, `below the minimum of ${min}`);
    if (from > max) return this.decide(now, from, max, `above the maximum of ${max}`);
    if (wanted > from) {
      return this.decide(
        now,
        from,
        wanted,
        `${sample.runnable} queued ${sample.runnable === 1 ? 'job' : 'jobs'} could start now, on ${from} ${from === 1 ? 'processor' : 'processors'} (target: ${targetBacklog} waiting per processor)`,
      );
    }

    this.windowStart ??= now;
    while (this.window.length > 0 && this.window[this.window.length - 1]!.wanted <= wanted) this.window.pop();
    this.window.push({ at: now, wanted });
    while (this.window[0]!.at < now - scaleDownDelayMs) this.window.shift();
    if (now - this.windowStart < scaleDownDelayMs) return undefined;
    const needed = this.window[0]!.wanted;
    if (needed >= from) return undefined;
    return this.decide(now, from, needed, `no more than ${needed} needed for ${scaleDownDelayMs} ms`);
  }

  private decide(at: number, from: number, to: number, reason: string): ScaleDecision {
    this.reset();
    return { at, from, to, reason: `${to > from ? 'scale up' : 'scale down'} ${from}→${to}: ${reason}` };
  }

  private reset(): void {
    this.window = [];
    this.windowStart = undefined;
  }
}
