// One cell of the scheduler cost benchmark (scenario 5), in its own process so that its
// RSS holds one filled policy and nothing else:
//
//   node --expose-gc --import tsx bench/scheduler-worker.ts <policy> <queued> <users>
//
// Fills the policy, then times steady-state decisions and placement look-ups, and prints
// one JSON line (WorkerResult) on stdout. BENCH_CPU_PROF=<dir> writes a V8 CPU profile of
// the timed decisions alone (not the fill) to <dir>/<policy>-<queued>-<users>.cpuprofile.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { isPolicyName, type UserSettings } from '../src/domain/policy.ts';
import { cpuMeter } from './cpu.ts';
import { entry, intBetween, makePolicy, prng, SEED, type BenchEntry } from './scheduler-common.ts';

export interface WorkerResult {
  policy: string;
  queued: number;
  users: number;
  /** Users with at least one queued job after filling. */
  usersWithJobs: number;
  fillMs: number;
  decisions: number;
  timedMs: number;
  /** Time V8 spent in garbage collection during the timed decisions. */
  gcMs: number;
  /** CPU other processes used during the timed decisions, ms: a busy machine skews them. */
  otherCpuMs: number;
  placementUs: number;
  /** After filling and a full GC: the whole process, and the JS heap. */
  rssBytes: number;
  heapBytes: number;
  /** The same process before filling (node + tsx), for reference. */
  baselineRssBytes: number;
  /** Peak RSS of the process (VmHWM), KiB: filling may peak above the settled RSS. */
  hwmKb: number;
}

/** Jobs running at once: each decision finishes the oldest of them. */
const PROCESSORS = 8;
const WARMUP_MS = 300;
const TIMED_MS = 1500;
const PLACEMENT_WARMUP_MS = 100;
const PLACEMENT_MS = 300;

const [policyName = '', queuedArg = '', usersArg = ''] = process.argv.slice(2);
const queued = Number(queuedArg);
const users = Number(usersArg);
if (!isPolicyName(policyName) || !(queued > 0) || !(users > 0)) {
  throw new Error(`usage: scheduler-worker.ts <weighted-fair|fifo> <queued> <users> (got ${process.argv.slice(2).join(' ')})`);
}

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc, so memory is read after a full collection');

const random = prng(SEED);
const userIds = Array.from({ length: users }, (_, i) => `user-${i}`);
// Varied weights 1..10; every 5th user is capped at 2 running jobs (fifo ignores weights
// but honours caps, so both policies get the same settings).
const settings = new Map<string, UserSettings>(
  userIds.map((id, i) => [id, { weight: intBetween(random, 1, 10), maxConcurrent: i % 5 === 0 ? 2 : undefined }]),
);
const policy = makePolicy(policyName, (userId) => settings.get(userId)!);

// A user's jobs share one id string, so memory counts the jobs rather than copies of ids.
let nextId = 0;
const newJob = (): BenchEntry =>
  entry(nextId++, userIds[Math.floor(random() * users)]!, intBetween(random, 10, 1000), intBetween(random, 1, 5));

gc();
const baselineRssBytes = process.memoryUsage().rss;

// Fill `queued` plus the jobs about to start, so `queued` stay queued from then on.
const fillStart = performance.now();
for (let i = 0; i < queued + PROCESSORS; i++) policy.enqueue(newJob());
const fillMs = performance.now() - fillStart;

// Start PROCESSORS jobs; `running` is a ring of their owners, oldest at `head`.
const running: string[] = [];
for (let i = 0; i < PROCESSORS; i++) running.push(policy.take()!.userId);
let head = 0;
const usersWithJobs = new Set(Array.from(policy.jobs(), (job) => job.userId)).size;

gc();
const { rss: rssBytes, heapUsed: heapBytes } = process.memoryUsage();

/** One decision: the oldest running job finishes, the next one starts, a new one is queued. */
function decide(): void {
  policy.release(running[head]!);
  const job = policy.take();
  if (!job) throw new Error('nothing could start: every user with queued jobs is at its cap');
  running[head] = job.userId;
  head = (head + 1) % PROCESSORS;
  policy.enqueue(newJob());
}

/** Runs decisions for about `ms`, checking the clock every 256 decisions. */
function decideFor(ms: number): { decisions: number; elapsedMs: number } {
  const start = performance.now();
  let decisions = 0;
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 256; i++) decide();
    decisions += 256;
    now = performance.now();
  }
  return { decisions, elapsedMs: now - start };
}

/** Up to `n` distinct queued job ids in random order (partial Fisher–Yates shuffle). */
function sampleQueuedIds(n: number): number[] {
  const ids = Array.from(policy.jobs(), (job) => job.id);
  for (let i = 0; i < Math.min(ids.length, n); i++) {
    const j = i + Math.floor(random() * (ids.length - i));
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  return ids.slice(0, n);
}

/**
 * Mean cost of placement() for random queued jobs, asked in batches of 20 distinct jobs
 * with one decision between batches: a policy may cache placements until the queue next
 * changes, and with jobs starting all the time the uncached cost is the one that matters.
 * Only the batches are timed, after PLACEMENT_WARMUP_MS of the same untimed.
 */
function placementUs(): number {
  let ids: number[] = [];
  let next = 0;
  let calls = 0;
  let timedMs = 0;
  const start = performance.now();
  for (let now = start; now - start < PLACEMENT_WARMUP_MS + PLACEMENT_MS || calls === 0; now = performance.now()) {
    if (next >= ids.length) [ids, next] = [sampleQueuedIds(20_000), 0];
    const batch = ids.slice(next, (next += 20)).filter((id) => policy.has(id));
    const t0 = performance.now();
    for (const id of batch) if (!policy.placement(id)) throw new Error(`job ${id} has no placement`);
    const t1 = performance.now();
    if (t0 - start >= PLACEMENT_WARMUP_MS) [timedMs, calls] = [timedMs + t1 - t0, calls + batch.length];
    decide();
  }
  return (timedMs * 1000) / calls;
}

function hwmKb(): number {
  const m = /^VmHWM:\s*(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** With BENCH_CPU_PROF set, starts V8's profiler; the returned function stops it and writes the profile. */
async function startProfiler(): Promise<(() => Promise<void>) | undefined> {
  const dir = process.env.BENCH_CPU_PROF?.trim();
  if (!dir) return undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `${policyName}-${queued}-${users}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}

async function main(): Promise<WorkerResult> {
  const placement = placementUs();

  // GC time during the timed part: at 1M queued a major GC has a lot to mark, and that is
  // part of what a decision costs.
  let gcMs = 0;
  let timed = [Infinity, -Infinity];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.startTime >= timed[0]! && e.startTime <= timed[1]!) gcMs += e.duration;
  });
  observer.observe({ entryTypes: ['gc'] });

  decideFor(WARMUP_MS);
  const profiler = await startProfiler();
  const cpu = cpuMeter([]);
  timed = [performance.now(), Infinity];
  const { decisions, elapsedMs } = decideFor(TIMED_MS);
  timed = [timed[0]!, performance.now()];
  const { otherMs: otherCpuMs } = cpu();
  await profiler?.();
  // GC entries are delivered asynchronously: let them arrive before reading gcMs.
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  if (policy.size !== queued) throw new Error(`queue size drifted to ${policy.size}`);

  return {
    policy: policyName,
    queued,
    users,
    usersWithJobs,
    fillMs,
    decisions,
    timedMs: elapsedMs,
    gcMs,
    otherCpuMs,
    placementUs: placement,
    rssBytes,
    heapBytes,
    baselineRssBytes,
    hwmKb: hwmKb(),
  };
}

main().then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
