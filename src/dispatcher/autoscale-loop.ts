// Runs the autoscaler: every interval it samples the dispatcher's load, and applies the
// decision (add built-in processors, or retire idle ones first and drain busy ones). The
// last decisions are kept for queueState, and each is logged.
import { Autoscaler, type AutoscaleSettings, type ScaleDecision } from '../domain/autoscale.ts';
import type { Clock } from '../domain/clock.ts';
import type { Logger } from '../log.ts';
import type { Dispatcher } from './dispatcher.ts';

const KEEP_DECISIONS = 20;

export class AutoscaleLoop {
  private readonly autoscaler: Autoscaler;
  private readonly recent: ScaleDecision[] = [];
  private timer: unknown;
  private running = false;
  private busy = false;

  constructor(
    private readonly dispatcher: Dispatcher,
    settings: AutoscaleSettings,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly intervalMs: number,
  ) {
    this.autoscaler = new Autoscaler(settings);
  }

  get settings(): AutoscaleSettings {
    return this.autoscaler.current;
  }

  /** Newest first. */
  get decisions(): readonly ScaleDecision[] {
    return this.recent;
  }

  /** What the autoscaler would ask for right now (before stabilization). */
  get recommendation(): number | undefined {
    return this.settings.enabled ? this.autoscaler.recommend(this.dispatcher.loadSample()) : undefined;
  }

  configure(settings: AutoscaleSettings): void {
    this.autoscaler.configure(settings);
    this.log.info('autoscaling configured', { ...settings });
    if (this.running) void this.tick();
  }

  start(): void {
    this.running = true;
    this.schedule();
  }

  stop(): void {
    this.running = false;
    this.clock.clearTimeout(this.timer);
  }

  private schedule(): void {
    this.timer = this.clock.setTimeout(() => {
      if (!this.running) return;
      this.schedule();
      void this.tick();
    }, this.intervalMs);
  }

  /** One observation; skipped while the previous decision is still being applied. */
  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const decision = this.autoscaler.observe(this.clock.now(), this.dispatcher.loadSample());
      if (!decision) return;
      this.recent.unshift(decision);
      this.recent.length = Math.min(this.recent.length, KEEP_DECISIONS);
      this.log.info('autoscale', { from: decision.from, to: decision.to, reason: decision.reason });
      if (decision.to > decision.from) await this.dispatcher.addProcessors(decision.to - decision.from);
      else await this.dispatcher.retireProcessors(decision.from - decision.to);
    } catch (error) {
      // Shutting down, or a store failure the dispatcher already reported: try next tick.
      this.log.warn('autoscale step failed; retrying at the next interval', { error: String(error) });
    } finally {
      this.busy = false;
    }
  }
}
