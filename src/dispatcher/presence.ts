// Whether remote processors are still there. A remote processor neither holding a lease nor
// waiting in a claim is silent: after a lease length it is OFFLINE, and after ten more it is
// forgotten (it must register again), so processors of workers long gone do not pile up.
// Any call from it brings it back online. (A processor silent while it holds a lease is
// handled by the lease's own expiry.)
import type { Clock } from '../domain/clock.ts';
import type { Logger } from '../log.ts';
import type { Processor } from './model.ts';

export interface PresenceHooks {
  /** True while nothing vouches for it: registered, no lease, no claim waiting, dispatching. */
  isSilent(processor: Processor): boolean;
  /** Silent ten lease lengths past OFFLINE. */
  forget(processor: Processor): void;
  /** Makes an OFFLINE/IDLE change durable and announces it. */
  record(processor: Processor, state: 'OFFLINE' | 'IDLE'): void;
}

export class RemotePresence {
  constructor(
    private readonly clock: Clock,
    private readonly leaseMs: number,
    private readonly hooks: PresenceHooks,
    private readonly log: Logger,
  ) {}

  /** The processor called: it is online, and silent only from now. */
  seen(processor: Processor): void {
    const link = processor.remote!;
    if (link.offline) {
      link.offline = false;
      this.hooks.record(processor, 'IDLE');
    }
    this.watch(processor);
  }

  /** Starts (or restarts) counting its silence. */
  watch(processor: Processor): void {
    const link = processor.remote!;
    this.clock.clearTimeout(link.silence);
    link.silence = this.clock.setTimeout(
      () => {
        if (!this.hooks.isSilent(processor)) return;
        if (link.offline) this.hooks.forget(processor);
        else {
          this.offline(processor);
          this.watch(processor);
        }
      },
      link.offline ? 10 * this.leaseMs : this.leaseMs,
    );
  }

  offline(processor: Processor): void {
    const link = processor.remote!;
    if (link.offline) return;
    link.offline = true;
    this.log.info('processor offline', { processor: processor.record.name });
    this.hooks.record(processor, 'OFFLINE');
  }

  /** Stops watching (the processor is retired, or the dispatcher stops). */
  forgetTimer(processor: Processor): void {
    this.clock.clearTimeout(processor.remote!.silence);
  }
}
