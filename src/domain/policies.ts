// The policies by name, for configuration and runtime switching.
import { FifoPolicy } from './fifo.ts';
import type { PolicyName, QueuedJob, SchedulingPolicy, SettingsOf } from './policy.ts';
import { WeightedFairPolicy } from './weighted-fair.ts';

export function createPolicy<J extends QueuedJob>(name: PolicyName, settingsOf: SettingsOf): SchedulingPolicy<J> {
  return name === 'fifo' ? new FifoPolicy<J>(settingsOf) : new WeightedFairPolicy<J>(settingsOf);
}
