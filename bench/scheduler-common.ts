// Shared by the scheduler benchmarks (scenarios 5 and 6): a seeded PRNG, queue entries
// shaped like the dispatcher's, and the policy factory. Everything here is pure, so the
// numbers depend only on the seed.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FifoPolicy } from '../src/domain/fifo.ts';
import type { PolicyName, QueuedJob, SchedulingPolicy, SettingsOf } from '../src/domain/policy.ts';
import { WeightedFairPolicy } from '../src/domain/weighted-fair.ts';

/**
 * What the dispatcher keeps in the policy per queued job (its `QueueEntry`). Mirrored
 * rather than imported so the benchmark does not load the dispatcher module; the point is
 * that memory figures count an object of the real size, not a bare `QueuedJob`.
 */
export interface BenchEntry extends QueuedJob {
  runMs: number;
  attempts: number;
  startedAt: Date | null;
}

/** A section of the benchmark report: markdown to print, and whether it ran correctly. */
export interface SchedulerSection {
  markdown: string;
  ok: boolean;
}

export const SEED = 42;

/** mulberry32: tiny, fast and good enough to make workloads reproducible. Returns [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform integer in [lo, hi]. */
export function intBetween(random: () => number, lo: number, hi: number): number {
  return lo + Math.floor(random() * (hi - lo + 1));
}

export function entry(id: number, userId: string, durationMs: number, priority = 3): BenchEntry {
  return { id, userId, durationMs, priority, runMs: 0, progressMs: 0, attempts: 0, startedAt: null };
}

export function makePolicy(name: PolicyName, settingsOf: SettingsOf): SchedulingPolicy<BenchEntry> {
  return name === 'fifo' ? new FifoPolicy<BenchEntry>(settingsOf) : new WeightedFairPolicy<BenchEntry>(settingsOf);
}

/**
 * Which policy code was measured: git HEAD plus a hash of src/domain, which may hold
 * uncommitted changes. Figures are only comparable between runs with the same id.
 */
export function policyCodeId(): string {
  const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'domain');
  const hash = createHash('sha256');
  for (const file of readdirSync(dir).sort()) hash.update(file).update(readFileSync(path.join(dir, file)));
  let head = 'no git';
  try {
    head = `git ${execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim()}`;
  } catch {
    // not a git checkout: the hash alone identifies the code
  }
  return `${head}, src/domain sha256 ${hash.digest('hex').slice(0, 12)}`;
}
