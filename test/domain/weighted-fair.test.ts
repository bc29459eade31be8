import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FifoPolicy } from '../../src/domain/fifo.ts';
import type { QueuedJob, SchedulingPolicy, UserSettings } from '../../src/domain/policy.ts';
import { WeightedFairPolicy } from '../../src/domain/weighted-fair.ts';

// ---------------------------------------------------------------------------------------
// Helpers for the unit tests
// ---------------------------------------------------------------------------------------

/** A weighted-fair policy whose users' settings live in a table the test can change. */
function setup(initial: Record<string, Partial<UserSettings>> = {}) {
  const table = new Map<string, Partial<UserSettings>>(Object.entries(initial));
  const policy = new WeightedFairPolicy((u) => ({ weight: table.get(u)?.weight ?? 1, maxConcurrent: table.get(u)?.maxConcurrent }));
  let nextId = 1;
  const submit = (userId: string, count = 1, more: Partial<QueuedJob> = {}): QueuedJob[] =>
    Array.from({ length: count }, () => {
      const job: QueuedJob = { id: nextId++, userId, durationMs: 100, progressMs: 0, priority: 3, ...more };
      policy.enqueue(job);
      return job;
    });
  const change = (userId: string, settings: Partial<UserSettings>) => {
    table.set(userId, { ...table.get(userId), ...settings });
    policy.refresh([userId]);
  };
  /** Takes up to n jobs (nobody finishes), returning their users; stops at the first undefined. */
  const users = (n: number) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const job = policy.take();
      if (!job) break;
      out.push(job.userId);
    }
    return out.join('');
  };
  const ids = (n: number) => Array.from({ length: n }, () => policy.take()?.id);
  return { policy, submit, change, users, ids };
}

const count = (s: string, c: string) => [...s].filter((x) => x === c).length;

// ---------------------------------------------------------------------------------------
// Unit tests
// ---------------------------------------------------------------------------------------

describe('WeightedFairPolicy: order within a user', () => {
  it('starts a user’s jobs by priority (higher first), then in submission order', () => {
    const { submit, ids } = setup();
    submit('a', 1, { priority: 3 }); // 1
    submit('a', 1, { priority: 5 }); // 2
    submit('a', 1, { priority: 1 }); // 3
    submit('a', 1, { priority: 5 }); // 4
    submit('a', 1, { priority: 3 }); // 5
    expect(ids(6)).toEqual([2, 4, 1, 5, 3, undefined]);
  });

  it('lets a high-priority job overtake only its own user’s jobs, not other users’', () => {
    const { submit, users, policy } = setup();
    submit('a', 3, { priority: 1 });
    submit('b', 3, { priority: 1 });
    submit('b', 1, { priority: 5 }); // b's urgent job jumps b's line, but b still waits its turn
    expect(policy.take()?.userId).toBe('a');
    const next = policy.take()!;
    expect(next).toMatchObject({ userId: 'b', priority: 5 });
    expect(users(5)).toBe('ababb');
  });

  it('puts an interrupted job back at its place in its user’s line, costing only the work left', () => {
    const { submit, policy, ids } = setup();
    const [first] = submit('a', 3);
    expect(policy.take()).toBe(first);
    policy.release('a');
    policy.enqueue({ ...first!, progressMs: 60 });
    expect(ids(4)).toEqual([first!.id, first!.id + 1, first!.id + 2, undefined]);
  });
});

describe('WeightedFairPolicy: shares between users', () => {
  it('alternates between users of equal weight, whatever order their jobs arrived in', () => {
    const { submit, users } = setup();
    submit('a', 4);
    submit('b', 4);
    submit('c', 4);
    expect(users(13)).toBe('abcabcabcabc');
  });

  it('gives weights 3:1 three starts for every one when the jobs are equally long', () => {
    const { submit, users } = setup({ a: { weight: 3 } });
    submit('a', 400);
    submit('b', 400);
    const order = users(400);
    // every prefix is within one job of the 3:1 split
    for (let n = 1; n <= order.length; n++) {
      expect(Math.abs(count(order.slice(0, n), 'a') - (3 * n) / 4)).toBeLessThanOrEqual(1);
    }
    expect(count(order, 'a')).toBe(300);
  });

  it('shares processor time, not starts: equal weights with 3× longer jobs get a third of the starts', () => {
    const { submit, users } = setup();
    submit('L', 50, { durationMs: 300 }); // long jobs
    submit('s', 150, { durationMs: 100 }); // short jobs
    const order = users(120);
    expect(count(order, 'L')).toBe(30);
    expect(count(order, 's')).toBe(90);
  });

  it('charges a resumed job only for the work it has left', () => {
    const { submit, users } = setup();
    submit('r', 50, { durationMs: 400, progressMs: 300 }); // resumed: 100 ms left each
    submit('f', 50, { durationMs: 100 });
    expect(users(6)).toBe('rfrfrf');
  });

  it('counts every start as at least 1 ms, so a job with no work left is not free', () => {
    const { submit, users } = setup();
    submit('d', 50, { durationMs: 100, progressMs: 100 }); // nothing left: costs 1 ms
    submit('t', 50, { durationMs: 1 });
    expect(users(20)).toBe('dt'.repeat(10));
  });
});

describe('WeightedFairPolicy: caps', () => {
  it('never runs more of a capped user’s jobs than its cap, and the capped user blocks nobody', () => {
    const { submit, policy, users } = setup({ a: { maxConcurrent: 2, weight: 10 } });
    submit('a', 10);
    submit('b', 3);
    expect(users(10)).toBe('ababb'); // a at its cap after two; b fills in; then nothing can start
    expect(policy.size).toBe(8);
    policy.release('a');
    expect(users(3)).toBe('a');
    policy.release('b'); // a b finishing frees no slot for a
    expect(policy.take()).toBeUndefined();
  });

  it('re-reads a cap on refresh: a lowered cap stops new starts until enough jobs finish, a raised one starts more at once', () => {
    const { submit, policy, change, users } = setup();
    submit('a', 10);
    expect(users(3)).toBe('aaa');
    change('a', { maxConcurrent: 2 });
    expect(policy.take()).toBeUndefined();
    policy.release('a');
    expect(policy.take()).toBeUndefined(); // 2 running, cap 2
    policy.release('a');
    expect(users(2)).toBe('a');
    change('a', { maxConcurrent: 4 });
    expect(users(5)).toBe('aa');
    change('a', { maxConcurrent: undefined });
    expect(users(10)).toBe('aaaa');
  });

  it('gives a user whose cap kept it waiting no catch-up burst when the cap lifts', () => {
    const { submit, policy, change, users } = setup({ a: { maxConcurrent: 1 } });
    submit('a', 20);
    submit('b', 20);
    expect(users(10)).toBe('ab' + 'b'.repeat(8)); // a runs one job; b uses the other processors
    change('a', { maxConcurrent: undefined });
    policy.release('a');
    // a re-enters at the current virtual time: it alternates with b from here, no burst
    expect(users(6)).toBe('ababab');
  });
});

describe('WeightedFairPolicy: remove, occupy and release', () => {
  it('removes a queued job (cancel) so that it never starts, and reports whether it was queued', () => {
    const { submit, policy, ids } = setup();
    const [a1, a2, a3] = submit('a', 3);
    expect(policy.has(a2!.id)).toBe(true);
    expect(policy.remove(a2!.id)).toBe(true);
    expect(policy.remove(a2!.id)).toBe(false);
    expect(policy.has(a2!.id)).toBe(false);
    expect(policy.size).toBe(2);
    expect(policy.placement(a2!.id)).toBeUndefined();
    expect(ids(3)).toEqual([a1!.id, a3!.id, undefined]);
    expect(policy.remove(a1!.id)).toBe(false); // already started
  });

  it('keeps a user’s turn when its next job is cancelled: the following job takes its place', () => {
    const { submit, policy, users } = setup();
    const a = submit('a', 3);
    submit('b', 3);
    expect(users(2)).toBe('ab');
    policy.remove(a[1]!.id);
    expect(users(4)).toBe('abb');
  });

  it('forgets nothing that matters when a user cancels everything and comes back', () => {
    const { submit, policy, users } = setup();
    const a = submit('a', 3);
    submit('b', 10);
    expect(users(2)).toBe('ab');
    for (const j of a) policy.remove(j.id);
    expect(users(3)).toBe('bbb');
    submit('a', 3);
    expect(users(4)).toBe('abab');
  });

  it('counts occupied slots against the cap until they are released', () => {
    const { submit, policy, users } = setup({ a: { maxConcurrent: 1 } });
    policy.occupy('a'); // a's job is running under another policy
    submit('a', 2);
    submit('b', 1);
    expect(users(3)).toBe('b');
    policy.release('a');
    expect(users(3)).toBe('a');
  });

  it('ignores a release for a user it does not know, and never counts below zero running', () => {
    const { submit, policy, users } = setup({ a: { maxConcurrent: 1 } });
    policy.release('nobody');
    policy.release('a');
    policy.release('a');
    submit('a', 3);
    expect(users(3)).toBe('a'); // still a cap of one, not three
  });

  it('hands over every queued job (including a capped user’s) through jobs()', () => {
    const { submit, policy, users } = setup({ a: { maxConcurrent: 1 } });
    const a = submit('a', 3);
    const b = submit('b', 2);
    expect(users(2)).toBe('ab');
    expect(new Set(policy.jobs())).toEqual(new Set([a[1], a[2], b[1]]));
  });
});

describe('WeightedFairPolicy: changing weights', () => {
  it('re-weights a waiting user at once on refresh', () => {
    const { submit, change, users } = setup();
    submit('a', 100);
    submit('b', 100);
    expect(users(4)).toBe('abab'); // both next at tag 200, a first
    change('b', { weight: 4 });
    expect(users(10)).toBe('bbbabbbbab');
  });

  it('slows a user down at once when its weight drops', () => {
    const { submit, change, users } = setup();
    submit('a', 100);
    submit('b', 100);
    expect(users(2)).toBe('ab');
    change('a', { weight: 0.25 }); // a was next (tie at 100); now its next tag is 0 + 100 / 0.25 = 400
    expect(users(10)).toBe('bbbabbbbab');
  });

  it('re-reads every known user on refresh() without arguments', () => {
    const table = new Map<string, number>();
    const policy = new WeightedFairPolicy((u) => ({ weight: table.get(u) ?? 1, maxConcurrent: undefined }));
    let id = 1;
    for (let i = 0; i < 50; i++) for (const u of ['a', 'b']) policy.enqueue({ id: id++, userId: u, durationMs: 10, progressMs: 0, priority: 3 });
    table.set('a', 3);
    table.set('b', 3);
    policy.refresh([]); // nobody re-read: still 1:1
    table.set('a', 9);
    policy.refresh();
    const order = Array.from({ length: 40 }, () => policy.take()!.userId).join('');
    expect(count(order, 'a')).toBe(30);
  });
});

describe('WeightedFairPolicy: no credit, no starvation', () => {
  it('gives a user no credit for time it had nothing queued', () => {
    const { submit, users } = setup();
    submit('a', 100);
    expect(users(50)).toBe('a'.repeat(50));
    submit('b', 100);
    expect(users(8)).toBe('babababa'); // b goes first once (newcomer at the current virtual time), then strict alternation
  });

  it('keeps a user’s debt when its work is done and it comes straight back', () => {
    const { submit, policy, users } = setup();
    submit('a', 1, { durationMs: 1000 });
    submit('b', 100, { durationMs: 100 });
    expect(users(5)).toBe('abbbb'); // a started at 0 with a 1000 ms job; b is at 300
    policy.release('a'); // a has nothing queued or running now, but its finish tag (1000) is ahead
    submit('a', 1, { durationMs: 100 });
    // a's next tag is 1000: b's jobs at 400 … 900 go first, then a (it was ready before b's tie at 1000)
    expect(users(8)).toBe('bbbbbbab');
  });

  it('starts a newcomer’s first job within (active users) starts even behind a 10,000-job flood', () => {
    const { submit, policy, users } = setup();
    submit('F', 10_000);
    expect(users(500)).toBe('F'.repeat(500));
    submit('x');
    const next = [policy.take()!.userId, policy.take()!.userId];
    expect(next).toContain('x');
  });

  it('starts a newcomer within (active users) starts behind several flooding users of any weight', () => {
    const { submit, policy } = setup({ h1: { weight: 1000 }, h2: { weight: 0.001 }, h3: { weight: 7 } });
    submit('h1', 10_000);
    submit('h2', 10_000);
    submit('h3', 10_000);
    for (let i = 0; i < 3000; i++) policy.take();
    submit('x', 5);
    const next = Array.from({ length: 4 }, () => policy.take()!.userId);
    expect(next).toContain('x');
  });

  it('starts a weight-1 user’s jobs between at most 101 jobs of a weight-100 user', () => {
    const { submit, users } = setup({ heavy: { weight: 100 } });
    submit('heavy', 5000);
    submit('L', 30);
    const order = users(3000).replace(/heavy/g, 'h');
    const gaps = order.split('L').slice(1, -1).map((g) => g.length);
    expect(gaps.length).toBeGreaterThan(20);
    for (const g of gaps) expect(g).toBeLessThanOrEqual(101);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(99);
  });
});

describe('WeightedFairPolicy: placement', () => {
  it('reports ownAhead exactly: the user’s queued jobs that start before this one', () => {
    const { submit, policy } = setup();
    const [p3, p5, p1, p5b] = [
      ...submit('a', 1, { priority: 3 }),
      ...submit('a', 1, { priority: 5 }),
      ...submit('a', 1, { priority: 1 }),
      ...submit('a', 1, { priority: 5 }),
    ];
    submit('b', 5);
    expect([p5, p5b, p3, p1].map((j) => policy.placement(j!.id)?.ownAhead)).toEqual([0, 1, 2, 3]);
    policy.remove(p5b!.id);
    expect([p5, p3, p1].map((j) => policy.placement(j!.id)?.ownAhead)).toEqual([0, 1, 2]);
    policy.take();
    expect([p3, p1].map((j) => policy.placement(j!.id)?.ownAhead)).toEqual([0, 1]);
  });

  it('gives position 1 to the job that starts next and increasing positions along a user’s line', () => {
    const { submit, policy } = setup({ a: { weight: 3 }, c: { weight: 0.5 } });
    submit('a', 20, { durationMs: 50 });
    submit('b', 20, { durationMs: 200 });
    submit('c', 20, { durationMs: 70 });
    for (let round = 0; round < 15; round++) {
      for (const u of ['a', 'b', 'c']) {
        const mine = [...policy.jobs()].filter((j) => j.userId === u).sort((x, y) => x.id - y.id);
        const positions = mine.map((j) => policy.placement(j.id)!.position);
        for (let i = 1; i < positions.length; i++) expect(positions[i]).toBeGreaterThan(positions[i - 1]!);
        for (const p of positions) expect(p).toBeLessThanOrEqual(policy.size);
      }
      const before = new Map([...policy.jobs()].map((j) => [j.id, policy.placement(j.id)!.position]));
      const next = policy.take()!;
      expect(before.get(next.id)).toBe(1);
      expect([...before.values()].filter((p) => p === 1)).toHaveLength(1);
    }
  });

  it('gives exact positions when weights and job lengths are equal', () => {
    const { submit, policy } = setup();
    submit('a', 3);
    submit('b', 3);
    submit('c', 2);
    policy.take();
    const queued = [...policy.jobs()];
    const predicted = new Map(queued.map((j) => [j.id, policy.placement(j.id)!.position]));
    const actual = new Map<number, number>();
    for (let place = 1; policy.size > 0; place++) actual.set(policy.take()!.id, place);
    expect(predicted).toEqual(actual);
  });

  it('is undefined for a job that is not queued', () => {
    const { submit, policy } = setup();
    const [j] = submit('a');
    expect(policy.placement(j!.id + 1)).toBeUndefined();
    policy.take();
    expect(policy.placement(j!.id)).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------
// Simulation for the property tests
// ---------------------------------------------------------------------------------------
//
// The test drives a policy directly: jobs arrive, up to P "processors" take jobs, running
// jobs finish (release) or queued ones are cancelled (remove). Alongside, it keeps its own
// model: every user's queued jobs and running count, and for every start a snapshot of who
// had work queued. Plain `if` checks inside the loops (an expect() per step costs more than
// the policy itself); they throw with a message that fast-check then shrinks.

type PolicyKind = 'weighted-fair' | 'fifo';

interface Job extends QueuedJob {
  /** Starts that had happened when the job was submitted. */
  submittedAt: number;
}

interface Start {
  job: Job;
  /** Per user: queued jobs just before this start. */
  queuedBefore: number[];
  /** Per user: how many times the user's queue had become empty before this start. */
  emptiesBefore: number[];
  /** Per user: the weight in force at this start. */
  weights: number[];
}

const cost = (j: QueuedJob) => Math.max(1, j.durationMs - j.progressMs);

function fail(message: string): never {
  throw new Error(message);
}

class Sim {
  readonly names: string[];
  readonly settings: UserSettings[];
  readonly policy: SchedulingPolicy<Job>;
  /** Per user, per priority (index 1–5): ids in submission order; `queued` says which are still queued. */
  private readonly lanes: number[][][];
  private readonly heads: number[][];
  readonly queued = new Map<number, Job>();
  readonly queuedCount: number[];
  readonly running: number[];
  readonly runningJobs: Job[] = [];
  readonly empties: number[];
  readonly maxCost: number[];
  readonly starts: Start[] = [];
  /** Index of each user's first start, and what was queued when its first job arrived. */
  readonly firstStart: Array<number | undefined>;
  readonly firstSubmit: Array<{ at: number; activeUsers: number } | undefined>;
  /** Users whose first jobs were all cancelled before one started: no newcomer check for them. */
  private readonly noNewcomerCheck = new Set<number>();
  private nextId = 1;

  constructor(
    readonly kind: PolicyKind,
    settings: UserSettings[],
    readonly checkPositions = false,
  ) {
    const n = settings.length;
    this.names = settings.map((_, i) => `u${i}`);
    this.settings = settings.map((s) => ({ ...s }));
    const settingsOf = (userId: string): UserSettings => ({ ...this.settings[this.index(userId)]! });
    this.policy = kind === 'fifo' ? new FifoPolicy<Job>(settingsOf) : new WeightedFairPolicy<Job>(settingsOf);
    this.lanes = Array.from({ length: n }, () => Array.from({ length: 6 }, () => []));
    this.heads = Array.from({ length: n }, () => new Array<number>(6).fill(0));
    this.queuedCount = new Array<number>(n).fill(0);
    this.running = new Array<number>(n).fill(0);
    this.empties = new Array<number>(n).fill(0);
    this.maxCost = new Array<number>(n).fill(0);
    this.firstStart = new Array(n).fill(undefined);
    this.firstSubmit = new Array(n).fill(undefined);
  }

  index(userId: string): number {
    return Number(userId.slice(1));
  }

  submit(user: number, priority = 3, durationMs = 100, progressMs = 0): Job {
    const job: Job = { id: this.nextId++, userId: this.names[user]!, durationMs, progressMs: Math.min(progressMs, durationMs), priority, submittedAt: this.starts.length };
    this.policy.enqueue(job);
    this.queued.set(job.id, job);
    this.queuedCount[user]!++;
    this.lanes[user]![priority]!.push(job.id);
    this.maxCost[user] = Math.max(this.maxCost[user]!, cost(job));
    if (this.firstSubmit[user] === undefined && !this.noNewcomerCheck.has(user)) {
      this.firstSubmit[user] = { at: this.starts.length, activeUsers: this.queuedCount.filter((q) => q > 0).length };
    }
    return job;
  }

  cancel(pick: number): void {
    if (this.queued.size === 0) return;
    const ids = [...this.queued.keys()];
    const job = this.queued.get(ids[pick % ids.length]!)!;
    if (!this.policy.remove(job.id)) fail(`remove(${job.id}) of a queued job returned false`);
    if (this.policy.remove(job.id)) fail(`second remove(${job.id}) returned true`);
    this.dequeued(job);
  }

  finish(pick: number): void {
    if (this.runningJobs.length === 0) return;
    const [job] = this.runningJobs.splice(pick % this.runningJobs.length, 1);
    const u = this.index(job!.userId);
    this.running[u]!--;
    this.policy.release(job!.userId);
  }

  /** Changes a user's settings and tells the policy, as the service does after setRules. */
  change(user: number, settings: Partial<UserSettings>, refreshAll = false): void {
    this.settings[user] = { ...this.settings[user]!, ...settings };
    this.policy.refresh(refreshAll ? undefined : [this.names[user]!]);
  }

  /** Takes jobs until `processors` run or the policy has nothing that may start. */
  fill(processors: number): void {
    while (this.runningJobs.length < processors) if (!this.takeOne()) break;
  }

  private atCap(u: number): boolean {
    const cap = this.settings[u]!.maxConcurrent;
    return cap !== undefined && this.running[u]! >= cap;
  }

  /** The job of user u that should start next: highest priority, then lowest id. */
  private best(u: number): number | undefined {
    for (let p = 5; p >= 1; p--) {
      const lane = this.lanes[u]![p]!;
      let h = this.heads[u]![p]!;
      while (h < lane.length && !this.queued.has(lane[h]!)) h++;
      this.heads[u]![p] = h;
      if (h < lane.length) return lane[h];
    }
    return undefined;
  }

  /** The queued job with the lowest id of user u. */
  private oldest(u: number): number | undefined {
    let min: number | undefined;
    for (let p = 1; p <= 5; p++) {
      const lane = this.lanes[u]![p]!;
      let h = this.heads[u]![p]!;
      while (h < lane.length && !this.queued.has(lane[h]!)) h++;
      this.heads[u]![p] = h;
      if (h < lane.length && (min === undefined || lane[h]! < min)) min = lane[h];
    }
    return min;
  }

  private takeOne(): boolean {
    const n = this.names.length;
    const eligible: number[] = [];
    for (let u = 0; u < n; u++) if (this.queuedCount[u]! > 0 && !this.atCap(u)) eligible.push(u);
    // Where the policy says each user's next job stands, before the take (no caps in the way only).
    let positionOfNext: Map<number, number> | undefined;
    if (this.checkPositions && eligible.length === this.queuedCount.filter((q) => q > 0).length) {
      positionOfNext = new Map();
      for (const u of eligible) {
        const id = this.best(u)!;
        positionOfNext.set(id, this.policy.placement(id)!.position);
      }
    }
    const job = this.policy.take();
    if (!job) {
      // work conservation: nothing may start only when every queued job's user is at its cap
      if (eligible.length > 0) fail(`take() returned undefined while ${this.names[eligible[0]!]} could start a job`);
      return false;
    }
    const u = this.index(job.userId);
    if (!this.queued.has(job.id)) fail(`take() returned job ${job.id}, which is not queued`);
    if (this.atCap(u)) fail(`take() started a job of ${job.userId} at its cap ${this.settings[u]!.maxConcurrent}`);
    if (this.kind === 'weighted-fair') {
      const best = this.best(u);
      if (job.id !== best) fail(`take() started job ${job.id} of ${job.userId}, but its next job is ${best}`);
    } else {
      const oldest = Math.min(...eligible.map((v) => this.oldest(v)!));
      if (job.id !== oldest) fail(`fifo started job ${job.id}, but the oldest job that may start is ${oldest}`);
    }
    if (positionOfNext && positionOfNext.get(job.id) !== 1) {
      fail(`job ${job.id} started next but its position was ${positionOfNext.get(job.id)}`);
    }
    this.starts.push({
      job,
      queuedBefore: [...this.queuedCount],
      emptiesBefore: [...this.empties],
      weights: this.settings.map((s) => s.weight),
    });
    this.firstStart[u] ??= this.starts.length - 1;
    this.dequeued(job);
    this.running[u]!++;
    this.runningJobs.push(job);
    const cap = this.settings[u]!.maxConcurrent;
    if (cap !== undefined && this.running[u]! > cap) fail(`${job.userId} runs ${this.running[u]} jobs, cap ${cap}`);
    return true;
  }

  private dequeued(job: Job): void {
    const u = this.index(job.userId);
    this.queued.delete(job.id);
    if (--this.queuedCount[u]! === 0) {
      this.empties[u]!++;
      if (this.firstStart[u] === undefined && this.firstSubmit[u] !== undefined) {
        this.firstSubmit[u] = undefined;
        this.noNewcomerCheck.add(u);
      }
    }
  }

  /** Checks size, membership, exact ownAhead and sane positions for every queued job. */
  checkPlacements(): void {
    if (this.policy.size !== this.queued.size) fail(`size ${this.policy.size}, expected ${this.queued.size}`);
    const byUser = new Map<string, Job[]>();
    for (const j of this.queued.values()) {
      if (!this.policy.has(j.id)) fail(`has(${j.id}) is false for a queued job`);
      const list = byUser.get(j.userId) ?? [];
      list.push(j);
      byUser.set(j.userId, list);
    }
    for (const [userId, list] of byUser) {
      list.sort((a, b) => (this.kind === 'fifo' ? a.id - b.id : b.priority - a.priority || a.id - b.id));
      let last = 0;
      list.forEach((j, i) => {
        const place = this.policy.placement(j.id);
        if (!place) fail(`no placement for queued job ${j.id}`);
        if (place.ownAhead !== i) fail(`${userId}'s job ${j.id}: ownAhead ${place.ownAhead}, expected ${i}`);
        if (place.position <= last || place.position > this.queued.size || place.position < i + 1) {
          fail(`${userId}'s job ${j.id} (own place ${i + 1}): position ${place.position} after ${last}, ${this.queued.size} queued`);
        }
        last = place.position;
      });
    }
  }
}

// ---- workloads ----

interface Arrival {
  user: number;
  count: number;
  priority: number;
  durationMs: number;
  progressMs: number;
}

interface Tick {
  arrivals: Arrival[];
  /** Running jobs that finish this tick. */
  finish: number[];
  /** Queued jobs cancelled this tick. */
  cancel: number[];
}

const arrivalArb = (durations: fc.Arbitrary<number>, progress: fc.Arbitrary<number>) =>
  fc.record({
    user: fc.nat(),
    count: fc.integer({ min: 1, max: 4 }),
    priority: fc.integer({ min: 1, max: 5 }),
    durationMs: durations,
    progressMs: progress,
  });

const tickArb = (opts: {
  durations: fc.Arbitrary<number>;
  progress?: fc.Arbitrary<number>;
  cancels?: boolean;
  maxArrivals?: number;
  /** At least this many finishes a tick (to get enough starts for windows of 100). */
  minFinish?: number;
}): fc.Arbitrary<Tick> =>
  fc.record({
    arrivals: fc.array(arrivalArb(opts.durations, opts.progress ?? fc.constant(0)), { maxLength: opts.maxArrivals ?? 3 }),
    finish: fc.array(fc.nat(), { minLength: opts.minFinish ?? 0, maxLength: 6 }),
    cancel: opts.cancels ? fc.array(fc.nat(), { maxLength: 1 }) : fc.constant<number[]>([]),
  });

function runTicks(sim: Sim, ticks: Tick[], processors: number, users: number[] | number, onTick?: (i: number) => void): void {
  const pool = typeof users === 'number' ? Array.from({ length: users }, (_, i) => i) : users;
  ticks.forEach((t, i) => {
    onTick?.(i);
    for (const a of t.arrivals) {
      const u = pool[a.user % pool.length]!;
      for (let k = 0; k < a.count; k++) sim.submit(u, a.priority, a.durationMs, a.progressMs);
    }
    for (const c of t.cancel) sim.cancel(c);
    for (const f of t.finish) sim.finish(f);
    sim.fill(processors);
  });
}

// ---- checks over the record of starts ----

/** u had work queued at every moment from just before start a until just before start b. */
const backlogged = (starts: Start[], u: number, a: number, b: number) =>
  starts[a]!.queuedBefore[u]! > 0 && starts[b]!.emptiesBefore[u] === starts[a]!.emptiesBefore[u];

function prefixWork(sim: Sim): number[][] {
  const n = sim.names.length;
  const work = Array.from({ length: n }, () => [0]);
  for (const s of sim.starts) {
    const u = sim.index(s.job.userId);
    for (let v = 0; v < n; v++) work[v]!.push(work[v]![work[v]!.length - 1]! + (v === u ? cost(s.job) : 0));
  }
  return work;
}

const sameWeights = (a: Start, b: Start) => a.weights.every((w, i) => w === b.weights[i]);

/**
 * SFQ fairness: over every window of `size` consecutive starts from `from` on, every pair of
 * users backlogged throughout gets |W_f/w_f − W_m/w_m| ≤ L_f/w_f + L_m/w_m. Returns the pairs checked.
 */
function checkPairBound(sim: Sim, size = 100, from = 0): number {
  const { starts } = sim;
  const n = sim.names.length;
  const work = prefixWork(sim);
  let checked = 0;
  for (let a = from; a + size <= starts.length; a++) {
    const b = a + size - 1;
    if (!sameWeights(starts[a]!, starts[b]!)) continue;
    const w = starts[a]!.weights;
    for (let f = 0; f < n; f++) {
      if (!backlogged(starts, f, a, b)) continue;
      for (let m = f + 1; m < n; m++) {
        if (!backlogged(starts, m, a, b)) continue;
        const wf = work[f]![b + 1]! - work[f]![a]!;
        const wm = work[m]![b + 1]! - work[m]![a]!;
        const gap = Math.abs(wf / w[f]! - wm / w[m]!);
        const bound = sim.maxCost[f]! / w[f]! + sim.maxCost[m]! / w[m]!;
        if (gap > bound * (1 + 1e-9)) {
          fail(`starts ${a}–${b}: u${f} got ${wf} ms at weight ${w[f]}, u${m} got ${wm} ms at weight ${w[m]}: gap ${gap} > bound ${bound}`);
        }
        checked++;
      }
    }
  }
  return checked;
}

/**
 * With equal job lengths: over every window of `size` starts from `from` on in which every user
 * that started a job was backlogged throughout (and at least two were), each backlogged user's
 * share of processor time is within `tolerance` of w_f / Σw over the backlogged users.
 */
function checkShares(sim: Sim, size = 100, from = 0, tolerance = 0.05): number {
  const { starts } = sim;
  const n = sim.names.length;
  const work = prefixWork(sim);
  let checked = 0;
  for (let a = from; a + size <= starts.length; a++) {
    const b = a + size - 1;
    if (!sameWeights(starts[a]!, starts[b]!)) continue;
    const w = starts[a]!.weights;
    const inWindow = Array.from({ length: n }, (_, u) => work[u]![b + 1]! - work[u]![a]!);
    const total = inWindow.reduce((x, y) => x + y, 0);
    const back = Array.from({ length: n }, (_, u) => u).filter((u) => backlogged(starts, u, a, b));
    if (back.length < 2 || inWindow.some((x, u) => x > 0 && !back.includes(u))) continue;
    const weightSum = back.reduce((x, u) => x + w[u]!, 0);
    for (const u of back) {
      const share = inWindow[u]! / total;
      const expected = w[u]! / weightSum;
      if (Math.abs(share - expected) > tolerance) {
        fail(`starts ${a}–${b}: u${u} (weight ${w[u]}) got ${(share * 100).toFixed(2)}% of processor time, expected ${(expected * 100).toFixed(2)}%`);
      }
    }
    checked++;
  }
  return checked;
}

/**
 * No starvation (SFQ): between two consecutive starts of a user f that stayed backlogged, every
 * other user m receives at most w_m · L_f / w_f + L_m of processor time.
 */
function checkNoStarvation(sim: Sim, from = 0): number {
  const { starts } = sim;
  const n = sim.names.length;
  let checked = 0;
  const last = new Array<number | undefined>(n).fill(undefined);
  const since = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let j = 0; j < starts.length; j++) {
    const s = starts[j]!;
    const f = sim.index(s.job.userId);
    const i = last[f];
    if (i !== undefined && j >= from && i >= from && s.emptiesBefore[f] === starts[i]!.emptiesBefore[f] && sameWeights(starts[i]!, s)) {
      const w = s.weights;
      for (let m = 0; m < n; m++) {
        if (m === f) continue;
        const bound = (w[m]! * sim.maxCost[f]!) / w[f]! + sim.maxCost[m]!;
        if (since[f]![m]! > bound * (1 + 1e-9)) {
          fail(`between u${f}'s starts ${i} and ${j}, u${m} (weight ${w[m]}) got ${since[f]![m]} ms > ${bound} (u${f} weight ${w[f]})`);
        }
        checked++;
      }
    }
    last[f] = j;
    since[f]!.fill(0);
    for (let v = 0; v < n; v++) if (v !== f) since[v]![f]! += cost(s.job);
  }
  return checked;
}

/** Each user's first job starts within (users with work queued when it arrived) starts. */
function checkNewcomers(sim: Sim): number {
  let checked = 0;
  sim.firstSubmit.forEach((sub, u) => {
    const first = sim.firstStart[u];
    if (!sub || first === undefined) return;
    if (first - sub.at + 1 > sub.activeUsers) {
      fail(`u${u}'s first job started ${first - sub.at + 1} starts after it arrived, with ${sub.activeUsers} active users`);
    }
    checked++;
  });
  return checked;
}

/** Equal-priority jobs of a user start in submission order. */
function checkOwnOrder(sim: Sim): void {
  const lastId = new Map<string, number>();
  for (const { job } of sim.starts) {
    const key = `${job.userId}/${job.priority}`;
    if ((lastId.get(key) ?? 0) > job.id) fail(`${job.userId}'s job ${job.id} started after its later job ${lastId.get(key)}`);
    lastId.set(key, job.id);
  }
}

// ---------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------

const weightArb = fc.double({ min: 1, max: 10, noNaN: true, noDefaultInfinity: true });
const anyWeightArb = fc.oneof(weightArb, fc.constantFrom(0.001, 0.1, 0.5, 1, 100, 1000));
const capArb = fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined, freq: 2 });
const durationArb = fc.integer({ min: 1, max: 1000 });

/**
 * Runs for a property. The time limit never bites while the properties hold (each takes well
 * under a second); it stops shrinking a failure of these large workloads after a while, and
 * fast-check then reports the smallest counterexample found so far.
 */
const budget = (numRuns: number) => ({ numRuns, interruptAfterTimeLimit: 10_000 });

/** Totals over all runs, so that a property that never got to check anything fails. */
const tally = () => {
  const t = { runs: 0, checked: 0 };
  return Object.assign(t, {
    add(n: number) {
      t.runs++;
      t.checked += n;
    },
  });
};

describe.each(['weighted-fair', 'fifo'] as const)('%s under random workloads with caps, priorities, cancellations and settings changes', (kind) => {
  const workload = fc.record({
    users: fc.array(fc.record({ weight: anyWeightArb, maxConcurrent: capArb }), { minLength: 2, maxLength: 5 }),
    processors: fc.integer({ min: 1, max: 6 }),
    ticks: fc.array(tickArb({ durations: durationArb, progress: fc.nat(1000), cancels: true, maxArrivals: 4 }), { minLength: 20, maxLength: 80 }),
    changes: fc.array(
      fc.record({ at: fc.nat(), user: fc.nat(), weight: anyWeightArb, maxConcurrent: capArb, all: fc.boolean() }),
      { maxLength: 4 },
    ),
  });

  it('starts each user’s jobs by priority then submission order, never exceeds a cap, and idles only when every waiting user is at its cap', () => {
    const seen = tally();
    fc.assert(
      fc.property(workload, ({ users, processors, ticks, changes }) => {
        const sim = new Sim(kind, users, kind === 'weighted-fair');
        runTicks(sim, ticks, processors, users.length, (i) => {
          for (const c of changes) {
            if (c.at % ticks.length === i) sim.change(c.user % users.length, { weight: c.weight, maxConcurrent: c.maxConcurrent }, c.all);
          }
          if (i % 5 === 0) sim.checkPlacements();
        });
        sim.checkPlacements();
        checkOwnOrder(sim);
        if (kind === 'weighted-fair') checkNewcomers(sim);
        seen.add(sim.starts.length);
      }),
      budget(150),
    );
    expect(seen.checked).toBeGreaterThan(seen.runs * 10);
  });
});

describe('weighted-fair fairness under random workloads (no caps)', () => {
  const workload = (weights: fc.Arbitrary<number[]>) =>
    fc.record({
      weights,
      processors: fc.integer({ min: 1, max: 6 }),
      initial: fc.array(fc.array(fc.tuple(durationArb, fc.nat(1000), fc.integer({ min: 1, max: 5 })), { minLength: 30, maxLength: 120 }), {
        minLength: 5,
        maxLength: 5,
      }),
      ticks: fc.array(tickArb({ durations: durationArb, progress: fc.nat(1000), cancels: true, minFinish: 1 }), { minLength: 60, maxLength: 150 }),
    });

  /** `heavy`: how many times over user 0 gets its initial jobs (a heavy user needs more to stay backlogged). */
  const run = (weights: number[], processors: number, initial: Array<Array<[number, number, number]>>, ticks: Tick[], heavy = 1) => {
    const sim = new Sim(
      'weighted-fair',
      weights.map((weight) => ({ weight, maxConcurrent: undefined })),
    );
    weights.forEach((_, u) => {
      for (let r = 0; r < (u === 0 ? heavy : 1); r++) for (const [d, p, prio] of initial[u]!) sim.submit(u, prio, d, p);
    });
    sim.fill(processors);
    runTicks(sim, ticks, processors, weights.length);
    checkOwnOrder(sim);
    return sim;
  };

  it('keeps every pair of backlogged users within the SFQ bound over every window of 100 starts, with any job lengths', () => {
    const seen = tally();
    fc.assert(
      fc.property(workload(fc.array(weightArb, { minLength: 2, maxLength: 5 })), ({ weights, processors, initial, ticks }) => {
        seen.add(checkPairBound(run(weights, processors, initial, ticks)));
      }),
      budget(80),
    );
    expect(seen.checked).toBeGreaterThan(seen.runs * 20);
  });

  it('keeps the SFQ bound with weights 100:1', () => {
    const seen = tally();
    fc.assert(
      fc.property(workload(fc.constant([100, 1])), ({ weights, processors, initial, ticks }) => {
        seen.add(checkPairBound(run(weights, processors, initial, ticks, 10)));
      }),
      budget(30),
    );
    expect(seen.checked).toBeGreaterThan(seen.runs * 20);
  });

  it('never lets another user get more than w_m·L_f/w_f + L_m between two starts of a backlogged user', () => {
    const seen = tally();
    fc.assert(
      fc.property(workload(fc.array(anyWeightArb, { minLength: 2, maxLength: 5 })), ({ weights, processors, initial, ticks }) => {
        const sim = run(weights, processors, initial, ticks);
        seen.add(checkNoStarvation(sim));
        checkNewcomers(sim);
      }),
      budget(60),
    );
    expect(seen.checked).toBeGreaterThan(seen.runs * 20);
  });

  const equalWorkload = (weights: fc.Arbitrary<number[]>) =>
    fc.record({
      weights,
      processors: fc.integer({ min: 1, max: 6 }),
      durationMs: durationArb,
      ticks: fc.array(tickArb({ durations: fc.constant(0), cancels: true, maxArrivals: 0, minFinish: 1 }), { minLength: 60, maxLength: 120 }),
      priorities: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 10 }),
    });

  const runEqual = (weights: number[], processors: number, durationMs: number, ticks: Tick[], priorities: number[]) => {
    const sim = new Sim(
      'weighted-fair',
      weights.map((weight) => ({ weight, maxConcurrent: undefined })),
    );
    // enough work that every user stays backlogged for most of the run
    for (let k = 0; k < 800; k++) for (let u = 0; u < weights.length; u++) sim.submit(u, priorities[k % priorities.length]!, durationMs);
    sim.fill(processors);
    runTicks(sim, ticks, processors, weights.length);
    return sim;
  };

  it('gives each backlogged user its weight share of processor time ±5 points over every 100 starts, with equal job lengths', () => {
    const seen = tally();
    fc.assert(
      fc.property(equalWorkload(fc.array(weightArb, { minLength: 2, maxLength: 5 })), ({ weights, processors, durationMs, ticks, priorities }) => {
        const sim = runEqual(weights, processors, durationMs, ticks, priorities);
        seen.add(checkShares(sim));
        checkPairBound(sim);
      }),
      budget(80),
    );
    expect(seen.checked).toBeGreaterThan(seen.runs * 20);
  });

  it('gives weights 100:1 their shares ±5 points over every 100 starts', () => {
    const seen = tally();
    fc.assert(
      fc.property(equalWorkload(fc.constant([100, 1])), ({ weights, processors, durationMs, ticks, priorities }) => {
        seen.add(checkShares(runEqual(weights, processors, durationMs, ticks, priorities)));
      }),
      budget(30),
    );
    expect(seen.checked).toBeGreaterThan(seen.runs * 20);
  });
});

describe('weighted-fair: a weight-1 user beside a weight-100 user', () => {
  it('starts the light user’s first job within 2 starts and each later one after at most 101 heavy jobs', () => {
    let lightStarts = 0;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        durationArb,
        fc.array(tickArb({ durations: fc.constant(0), maxArrivals: 1 }), { minLength: 100, maxLength: 250 }),
        (processors, durationMs, ticks) => {
          const sim = new Sim('weighted-fair', [
            { weight: 100, maxConcurrent: undefined },
            { weight: 1, maxConcurrent: undefined },
          ]);
          for (let k = 0; k < 2000; k++) sim.submit(0, 3, durationMs);
          sim.fill(processors);
          // only the light user submits from here on, in random bursts
          runTicks(sim, ticks.map((t) => ({ ...t, arrivals: t.arrivals.map((a) => ({ ...a, durationMs })) })), processors, [1]);
          checkNewcomers(sim);
          let prevLight = -1;
          sim.starts.forEach((s, j) => {
            if (s.job.userId !== 'u1') return;
            const from = Math.max(s.job.submittedAt, prevLight + 1);
            const heavy = j - from;
            if (heavy > 101) fail(`light job ${s.job.id} started after ${heavy} heavy jobs (from start ${from} to ${j})`);
            prevLight = j;
            lightStarts++;
          });
          checkNoStarvation(sim);
        },
      ),
      budget(60),
    );
    expect(lightStarts).toBeGreaterThan(60); // more than one a run on average (about 3 are usual)
  });
});

describe('weighted-fair: changing weights while work is queued', () => {
  it('re-weights a backlogged user at once when its weight rises from 1 to 100', () => {
    const { submit, change, users } = setup({ m: { weight: 100 } });
    submit('f', 500);
    submit('m', 500);
    expect(count(users(150), 'f')).toBe(2);
    change('f', { weight: 100 });
    const after = users(100);
    expect(Math.abs(count(after, 'f') - 50)).toBeLessThanOrEqual(1);
    expect(after.slice(0, 2)).toContain('f');
  });

  it('gives a user whose weight rose no service for the time before the change', () => {
    const { submit, change, users } = setup({ m: { weight: 10 } });
    submit('f', 100);
    submit('m', 100);
    expect(users(11)).toBe('f' + 'm'.repeat(10)); // f's next tag is 100, m's too; virtual time is 90
    change('f', { weight: 10 }); // f's next tag becomes 0 + 100/10 = 10, already in the past: it starts now, at 90
    expect(users(8)).toBe('fmfmfmfm');
  });

  const workload = fc
    .integer({ min: 2, max: 5 })
    .chain((n) =>
      fc.record({
        before: fc.array(weightArb, { minLength: n, maxLength: n }),
        after: fc.array(fc.option(weightArb, { nil: undefined }), { minLength: n, maxLength: n }),
        refreshAll: fc.boolean(),
        newcomer: fc.option(weightArb, { nil: undefined }),
        processors: fc.integer({ min: 1, max: 6 }),
        durationMs: durationArb,
        ticksBefore: fc.array(tickArb({ durations: fc.constant(0), maxArrivals: 0, cancels: true }), { minLength: 5, maxLength: 60 }),
        ticksAfter: fc.array(tickArb({ durations: fc.constant(0), maxArrivals: 0, cancels: true, minFinish: 1 }), { minLength: 60, maxLength: 120 }),
      }),
    );

  it('makes the shares over every 100 starts after a change follow the new weights, with the SFQ, starvation and newcomer bounds intact', () => {
    const seen = tally();
    fc.assert(
      fc.property(workload, ({ before, after, refreshAll, newcomer, processors, durationMs, ticksBefore, ticksAfter }) => {
        const n = before.length;
        const sim = new Sim('weighted-fair', [...before, newcomer ?? 1].map((weight) => ({ weight, maxConcurrent: undefined })));
        for (let k = 0; k < 800; k++) for (let u = 0; u < n; u++) sim.submit(u, 3, durationMs);
        sim.fill(processors);
        runTicks(sim, ticksBefore, processors, n);
        const changeAt = sim.starts.length;
        after.forEach((w, u) => {
          if (w !== undefined) sim.change(u, { weight: w }, refreshAll);
        });
        if (newcomer !== undefined) for (let k = 0; k < 800; k++) sim.submit(n, 3, durationMs);
        runTicks(sim, ticksAfter, processors, n);
        let checked = checkShares(sim, 100, changeAt);
        checked += checkPairBound(sim, 100, changeAt);
        checkNoStarvation(sim, changeAt);
        checkNewcomers(sim);
        checkOwnOrder(sim);
        seen.add(checked);
      }),
      budget(80),
    );
    expect(seen.checked).toBeGreaterThan(seen.runs * 20);
  });
});

describe('weighted-fair placement estimates', () => {
  it('predicts the exact start order when each user’s jobs are equally long, nobody submits more, and no cap binds', () => {
    // weights and lengths chosen so that every tag is an exact binary fraction: ties are real ties
    const workload = fc.record({
      users: fc.array(fc.record({ weight: fc.constantFrom(0.5, 1, 2, 4), durationMs: fc.constantFrom(8, 16, 24, 64, 200) }), { minLength: 2, maxLength: 5 }),
      processors: fc.integer({ min: 1, max: 4 }),
      ticks: fc.array(tickArb({ durations: fc.constant(0), cancels: true }), { minLength: 0, maxLength: 40 }),
    });
    let compared = 0;
    fc.assert(
      fc.property(workload, ({ users, processors, ticks }) => {
        const sim = new Sim(
          'weighted-fair',
          users.map((u) => ({ weight: u.weight, maxConcurrent: undefined })),
        );
        const perUser = ticks.map((t) => ({ ...t, arrivals: t.arrivals.map((a) => ({ ...a, durationMs: users[a.user % users.length]!.durationMs })) }));
        runTicks(sim, perUser, processors, users.length);
        users.forEach((u, i) => sim.submit(i, 3, u.durationMs));
        const predicted = [...sim.policy.jobs()].map((j) => [j.id, sim.policy.placement(j.id)!.position] as const);
        const actual = new Map<number, number>();
        for (let place = 1; sim.policy.size > 0; place++) actual.set(sim.policy.take()!.id, place);
        for (const [id, position] of predicted) {
          if (actual.get(id) !== position) fail(`job ${id}: predicted position ${position}, started ${actual.get(id)}th`);
        }
        compared += predicted.length;
      }),
      budget(150),
    );
    expect(compared).toBeGreaterThan(150 * 5);
  });
});

describe('WeightedFairPolicy: idle time, refunds and long runs', () => {
  it('forgets a user’s debt once nothing is queued or running, so a returning user starts near the front', () => {
    const { policy, submit, users } = setup();
    submit('a', 1, { durationMs: 3_600_000 }); // one hour alone
    expect(users(1)).toBe('a');
    policy.release('a'); // the system is idle now
    submit('b', 60, { durationMs: 60_000 });
    expect(users(1)).toBe('b'); // b is running; the rest wait
    const [late] = submit('a', 1, { durationMs: 1 });
    // Without the reset, a's hour of debt would put it behind all 59 of b's waiting jobs.
    expect(policy.placement(late!.id)!.position).toBeLessThanOrEqual(2);
    expect(users(2)).toContain('a');
  });

  it('drops idle users once virtual time passes their finish tag, so lines track users with work', () => {
    const { policy, submit, users } = setup();
    submit('busy', 5000, { durationMs: 10 });
    for (let i = 0; i < 1000; i++) {
      submit(`once-${i}`, 1, { durationMs: 10 });
      const started = policy.take()!;
      policy.release(started.userId);
    }
    users(200); // v moves on past every one-off user's finish tag
    const lines = (policy as unknown as { lines: Map<string, unknown> }).lines;
    expect(lines.size).toBeLessThan(20);
    expect(lines.has('busy')).toBe(true);
  });

  it('charges an interrupted or cancelled run only for the work it did', () => {
    const { policy, submit, users } = setup();
    submit('a', 1, { durationMs: 10_000 });
    submit('b', 20, { durationMs: 1000 });
    submit('a', 20, { durationMs: 1000 });
    expect(policy.take()!.userId).toBe('a');
    // a's 10 s job stops after 1 s: 9 s of it were never done.
    policy.release('a', 9000);
    const next = users(6);
    // Charged 10 s, a would wait for ~10 of b's 1 s jobs; charged 1 s, it alternates at once.
    expect(count(next, 'a')).toBeGreaterThanOrEqual(2);
  });

  it('rebases tags in a long busy period, so a 1 ms job at weight 1000 still moves the tag', () => {
    const { policy, submit, users } = setup({ x: { weight: 0.001 }, h: { weight: 1000 }, l: { weight: 1 } });
    // 500 day-long jobs at weight 0.001 (all started, none finished) would push v to ~4e13,
    // where 0.001 is below half the rounding step of a double: h's steps would be lost.
    submit('x', 500, { durationMs: 86_400_000 });
    expect(users(500)).toBe('x'.repeat(500));
    expect((policy as unknown as { virtualTime: number }).virtualTime).toBeLessThan(2 ** 40);
    submit('h', 4000, { durationMs: 1 });
    submit('l', 10, { durationMs: 1 });
    const order = users(4004);
    expect(count(order, 'l')).toBeGreaterThanOrEqual(3);
    expect(count(order, 'l')).toBeLessThanOrEqual(5);
  });
});

describe('WeightedFairPolicy: placements of a whole line', () => {
  it('gives the same positions for a user’s line in one pass (lineOf) as job by job', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 50 })), {
          minLength: 1,
          maxLength: 300,
        }),
        fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 6, maxLength: 6 }),
        fc.integer({ min: 0, max: 40 }),
        (submissions, weights, starts) => {
          const settings = (u: string) => ({ weight: weights[Number(u.slice(1))]!, maxConcurrent: undefined });
          const batch = new WeightedFairPolicy(settings);
          const single = new WeightedFairPolicy(settings);
          submissions.forEach(([user, priority, tenths], i) => {
            const job = { id: i + 1, userId: `u${user}`, durationMs: 10 + tenths * 10, progressMs: 0, priority };
            batch.enqueue({ ...job });
            single.enqueue({ ...job });
          });
          for (let i = 0; i < starts; i++) {
            batch.take();
            single.take();
          }
          for (let user = 0; user < 6; user++) {
            const line = batch.lineOf(`u${user}`, 1000);
            for (const [i, job] of line.entries()) {
              const expected = single.placement(job.id)!;
              const got = batch.placement(job.id)!;
              if (got.ownAhead !== i || got.position !== expected.position || got.ownAhead !== expected.ownAhead) return false;
            }
          }
          return true;
        },
      ),
      { numRuns: 150 },
    );
  });
});
