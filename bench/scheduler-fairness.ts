// Scenario 6: how fairly each policy shares processors under a mixed workload. A
// discrete-event simulation on a virtual clock (no timers, no I/O) drives the policy the
// way the dispatcher does: when a job finishes its processor takes the next job; when a
// job arrives it is queued and idle processors take work. Seeded, so every run prints the
// same table.
//
// Share is measured over the instants when every user except the newcomer has jobs
// queued (backlogged): then each user's entitlement is well defined. At each instant it
// is the weighted share of the 8 processors among the users with work, where a user can
// use no more than its cap (or, with nothing queued, than what it is running), and what
// such a user cannot use is split among the others by weight (water-filling).
import { Heap } from '../src/domain/heap.ts';
import { POLICY_NAMES, type PolicyName } from '../src/domain/policy.ts';
import { fmtInt, markdownTable, percentile } from './report.ts';
import { entry, intBetween, makePolicy, policyCodeId, prng, SEED, type SchedulerSection } from './scheduler-common.ts';

const PROCESSORS = 8;

interface UserSpec {
  name: string;
  weight: number;
  maxConcurrent?: number;
  /** Whether the share window requires this user to be backlogged. */
  inWindow: boolean;
  /** [submission time, duration] in ms. */
  submissions(random: () => number): Array<[number, number]>;
}

const repeat = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

// Demands are chosen so that every user but the newcomer stays backlogged for minutes:
// entitlements are heavy 3, light 1, mixed 2 and capped 2 processors (its weight would
// give it 3.2, its cap allows 2); light asks for 100 ms every 90 ms, a little more than 1.
const USERS: UserSpec[] = [
  { name: 'heavy', weight: 3, inWindow: true, submissions: (r) => repeat(10_000, () => [0, intBetween(r, 100, 300)]) },
  { name: 'light', weight: 1, inWindow: true, submissions: () => repeat(10_000, (i) => [i * 90, 100]) },
  {
    name: 'mixed',
    weight: 2,
    inWindow: true,
    submissions: (r) => repeat(3_000, (i) => [Math.floor(i / 500) * 60_000, intBetween(r, 10, 1000)]),
  },
  { name: 'capped', weight: 4, maxConcurrent: 2, inWindow: true, submissions: () => repeat(5_000, () => [0, 300]) },
  { name: 'newcomer', weight: 1, inWindow: false, submissions: () => repeat(5, () => [300_000, 200]) },
];

interface UserState {
  spec: UserSpec;
  jobs: number;
  queued: number;
  running: number;
  waits: number[];
  /** Processor time used and entitled to, in ms, inside the window. */
  usedMs: number;
  entitledMs: number;
  /** Starts (any user's) when this user's first job arrived, and before it started. */
  startsAtArrival?: number;
  startsBeforeFirst?: number;
  /** Users with work when its first job arrived: SFQ's bound on startsBeforeFirst. */
  activeAtArrival?: number;
}

interface Arrival {
  at: number;
  user: UserState;
  durationMs: number;
}

interface Outcome {
  policy: PolicyName;
  users: UserState[];
  windowMs: number;
  endMs: number;
}

const hasWork = (u: UserState) => u.queued > 0 || u.running > 0;

/** Processors each user is entitled to right now (weighted water-filling with caps). */
function entitlements(users: UserState[]): Map<UserState, number> {
  const share = new Map<UserState, number>();
  const limit = (u: UserState) => (u.queued > 0 ? (u.spec.maxConcurrent ?? PROCESSORS) : u.running);
  let open = users.filter(hasWork);
  let free = PROCESSORS;
  for (;;) {
    const weights = open.reduce((sum, u) => sum + u.spec.weight, 0);
    const limited = open.filter((u) => (free * u.spec.weight) / weights >= limit(u));
    if (limited.length === 0) {
      for (const u of open) share.set(u, (free * u.spec.weight) / weights);
      return share;
    }
    for (const u of limited) {
      share.set(u, limit(u));
      free -= limit(u);
    }
    open = open.filter((u) => !limited.includes(u));
  }
}

function arrivals(users: UserState[]): Arrival[] {
  const random = prng(SEED);
  const list = users.flatMap((user) => user.spec.submissions(random).map(([at, durationMs]) => ({ at, user, durationMs })));
  // Stable sort: simultaneous submissions keep the order above (heavy's flood first).
  return list.sort((a, b) => a.at - b.at);
}

function simulate(policyName: PolicyName): Outcome {
  const users = USERS.map((spec): UserState => ({ spec, jobs: 0, queued: 0, running: 0, waits: [], usedMs: 0, entitledMs: 0 }));
  const byName = new Map(users.map((u) => [u.spec.name, u]));
  const policy = makePolicy(policyName, (name) => {
    const spec = byName.get(name)!.spec;
    return { weight: spec.weight, maxConcurrent: spec.maxConcurrent };
  });
  const queue = arrivals(users);
  const submittedAt = new Map<number, number>();
  const finishing = new Heap<{ end: number; id: number; user: UserState }>((a, b) => a.end < b.end || (a.end === b.end && a.id < b.id));
  let now = 0;
  let next = 0;
  let idle = PROCESSORS;
  let starts = 0;
  let windowMs = 0;

  /** Accounts processor time from `now` to `until` (nothing changes in between). */
  const account = (until: number) => {
    const dt = until - now;
    if (dt <= 0 || !users.every((u) => !u.spec.inWindow || u.queued > 0)) return;
    windowMs += dt;
    for (const [u, processors] of entitlements(users)) u.entitledMs += processors * dt;
    for (const u of users) u.usedMs += u.running * dt;
  };

  while (next < queue.length || finishing.size > 0) {
    const until = Math.min(queue[next]?.at ?? Infinity, finishing.peek()?.end ?? Infinity);
    account(until);
    now = until;
    // Finishes first, then arrivals, then idle processors take work: the dispatcher's order.
    while (finishing.peek()?.end === now) {
      const { user } = finishing.pop()!;
      user.running--;
      idle++;
      policy.release(user.spec.name);
    }
    for (; queue[next]?.at === now; next++) {
      const { user, durationMs } = queue[next]!;
      if (user.startsAtArrival === undefined) {
        user.startsAtArrival = starts;
        user.activeAtArrival = users.filter((u) => u !== user && hasWork(u)).length;
      }
      submittedAt.set(next, now);
      policy.enqueue(entry(next, user.spec.name, durationMs));
      user.jobs++;
      user.queued++;
    }
    while (idle > 0) {
      const job = policy.take();
      if (!job) break; // every user with queued jobs is at its cap
      const user = byName.get(job.userId)!;
      user.startsBeforeFirst ??= starts - user.startsAtArrival!;
      user.waits.push(now - submittedAt.get(job.id)!);
      user.queued--;
      user.running++;
      idle--;
      starts++;
      finishing.push({ end: now + job.durationMs, id: job.id, user });
    }
  }
  return { policy: policyName, users, windowMs, endMs: now };
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const secs = (ms: number) => (ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(1)} s`);

function rows(o: Outcome): string[][] {
  const usedTotal = o.users.reduce((sum, u) => sum + u.usedMs, 0);
  return o.users.map((u) => {
    const entitled = o.windowMs > 0 ? u.entitledMs / (PROCESSORS * o.windowMs) : NaN;
    const actual = usedTotal > 0 ? u.usedMs / usedTotal : NaN;
    return [
      o.policy,
      u.spec.name,
      String(u.spec.weight),
      u.spec.maxConcurrent === undefined ? '—' : String(u.spec.maxConcurrent),
      fmtInt(u.jobs),
      pct(entitled),
      pct(actual),
      `${actual >= entitled ? '+' : ''}${(100 * (actual - entitled)).toFixed(2)}`,
      secs(percentile(u.waits, 50)),
      secs(Math.max(...u.waits)),
      u.spec.inWindow ? '—' : `${fmtInt(u.startsBeforeFirst ?? NaN)}${o.policy === 'weighted-fair' ? ` (SFQ bound ${u.activeAtArrival})` : ''}`,
    ];
  });
}

export function schedulerFairness(): SchedulerSection {
  const outcomes = POLICY_NAMES.map(simulate);
  const header = ['Policy', 'User', 'Weight', 'Cap', 'Jobs', 'Entitled share', 'Actual share', 'Error (pp)', 'p50 wait', 'Max wait', 'Starts before first job'];
  const window = outcomes.map((o) => `${o.policy} ${secs(o.windowMs)} of ${secs(o.endMs)}`).join(', ');
  const markdown = [
    '### 6. Fairness under a mixed workload (simulated, virtual clock)',
    '',
    markdownTable(header, outcomes.flatMap(rows)),
    '',
    `${PROCESSORS} processors, seed ${SEED}. At t = 0 heavy floods 10,000 jobs of 100–300 ms and capped 5,000 of 300 ms; ` +
      'light submits a 100 ms job every 90 ms; mixed submits 500 jobs of 10–1000 ms every 60 s (6 bursts); ' +
      'the newcomer submits 5 jobs of 200 ms at t = 300 s. Shares are of processor time while heavy, light, ' +
      `mixed and capped all had jobs queued (${window}); entitled = weighted water-filling over the users with ` +
      'work, honouring caps. Waits are from submission to start, over all of a user’s jobs. ' +
      'SFQ bound: the users with work when the newcomer arrived (it should start within that many starts). ' +
      `Policy code: ${policyCodeId()}.`,
  ].join('\n');
  const ok = outcomes.every((o) => o.windowMs > 0 && o.users.every((u) => u.waits.length === u.jobs));
  return { markdown, ok };
}
