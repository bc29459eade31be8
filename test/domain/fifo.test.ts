import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FifoPolicy } from '../../src/domain/fifo.ts';
import type { QueuedJob } from '../../src/domain/policy.ts';

const job = (id: number, userId = 'u', priority = 3): QueuedJob => ({ id, userId, durationMs: 100, progressMs: 0, priority });

/** A policy whose users' caps come from `caps`; `setCap` changes one and refreshes that user. */
function cappedPolicy() {
  const caps = new Map<string, number | undefined>();
  const policy = new FifoPolicy((u) => ({ weight: 1, maxConcurrent: caps.get(u) }));
  const setCap = (u: string, cap: number | undefined) => {
    caps.set(u, cap);
    policy.refresh([u]);
  };
  return { policy, setCap };
}

function policyWith(...jobs: QueuedJob[]) {
  const { policy, setCap } = cappedPolicy();
  for (const j of jobs) policy.enqueue(j);
  return Object.assign(policy, { setCap });
}

const position = (policy: FifoPolicy, id: number) => policy.placement(id)?.position;

const takeIds = (policy: FifoPolicy, n: number) => Array.from({ length: n }, () => policy.take()?.id);

describe('FifoPolicy', () => {
  it('starts jobs in submission order, whatever the enqueue order', () => {
    const policy = policyWith(job(3, 'a'), job(1, 'b'), job(2, 'a'));
    expect(takeIds(policy, 4)).toEqual([1, 2, 3, undefined]);
    expect(policy.size).toBe(0);
  });

  it('ignores priority and weight: submission order alone decides', () => {
    const policy = new FifoPolicy((u) => ({ weight: u === 'heavy' ? 1000 : 1, maxConcurrent: undefined }));
    for (const j of [job(1, 'light', 1), job(2, 'heavy', 5), job(3, 'light', 1), job(4, 'heavy', 5)]) policy.enqueue(j);
    expect(takeIds(policy, 5)).toEqual([1, 2, 3, 4, undefined]);
  });

  it('reads a user’s cap when the user first shows up', () => {
    const { policy, setCap } = cappedPolicy();
    setCap('a', 1); // refresh of a user the policy does not know yet: nothing to do, but the cap is read on enqueue
    for (const j of [job(1, 'a'), job(2, 'a'), job(3, 'b')]) policy.enqueue(j);
    expect(takeIds(policy, 3)).toEqual([1, 3, undefined]);
  });

  it('ignores a second enqueue of a queued id', () => {
    const policy = policyWith(job(1), job(1));
    expect(policy.size).toBe(1);
    expect(takeIds(policy, 2)).toEqual([1, undefined]);
  });

  it('skips removed jobs and reports whether a job was queued', () => {
    const policy = policyWith(job(1), job(2), job(3));
    expect(policy.remove(2)).toBe(true);
    expect(policy.remove(2)).toBe(false);
    expect(policy.has(2)).toBe(false);
    expect(policy.size).toBe(2);
    expect(takeIds(policy, 3)).toEqual([1, 3, undefined]);
    expect(policy.remove(1)).toBe(false); // already taken
  });

  it('gives a 1-based position counting only queued jobs with smaller ids', () => {
    const policy = policyWith(job(10), job(20), job(30), job(40));
    expect([10, 20, 30, 40].map((id) => position(policy, id))).toEqual([1, 2, 3, 4]);
    policy.remove(20);
    policy.take(); // 10
    expect(position(policy, 30)).toBe(1);
    expect(position(policy, 40)).toBe(2);
    expect(position(policy, 10)).toBeUndefined();
    expect(position(policy, 20)).toBeUndefined();
  });

  it('takes a re-enqueued removed job at its original place', () => {
    const policy = policyWith(job(1), job(2), job(3));
    policy.remove(1);
    policy.enqueue(job(1));
    expect(position(policy, 1)).toBe(1);
    expect(takeIds(policy, 4)).toEqual([1, 2, 3, undefined]);
  });

  it('returns the object enqueued last for a removed and re-enqueued id', () => {
    const policy = policyWith(job(1));
    policy.remove(1);
    const fresh = { ...job(1), durationMs: 999 };
    policy.enqueue(fresh);
    expect(policy.size).toBe(1);
    expect(policy.take()).toBe(fresh);
    expect(policy.take()).toBeUndefined();
  });

  it('never runs more of a capped user’s jobs than its cap', () => {
    const policy = policyWith(job(1, 'a'), job(2, 'a'), job(3, 'a'));
    policy.setCap('a', 2);
    expect(takeIds(policy, 3)).toEqual([1, 2, undefined]);
    expect(policy.size).toBe(1);
    policy.release('a');
    expect(takeIds(policy, 2)).toEqual([3, undefined]);
  });

  it('counts taken jobs against the cap until they are released', () => {
    const policy = policyWith(job(1, 'a'), job(2, 'a'));
    policy.setCap('a', 1);
    expect(policy.take()?.id).toBe(1);
    expect(policy.take()).toBeUndefined();
    policy.release('a');
    expect(policy.take()?.id).toBe(2);
  });

  it('does not let a capped user’s next job block other users', () => {
    const policy = policyWith(job(1, 'a'), job(2, 'a'), job(3, 'b'));
    policy.setCap('a', 1);
    expect(takeIds(policy, 3)).toEqual([1, 3, undefined]);
  });

  it('puts a parked job back at its original place when a slot frees', () => {
    const policy = policyWith(job(1, 'a'), job(2, 'a'), job(3, 'b'), job(4, 'b'));
    policy.setCap('a', 1);
    expect(takeIds(policy, 2)).toEqual([1, 3]); // 2 is parked behind a's cap
    policy.enqueue(job(5, 'c'));
    policy.release('a');
    expect(takeIds(policy, 4)).toEqual([2, 4, 5, undefined]);
  });

  it('keeps a parked job’s queue position and drops it if removed', () => {
    const policy = policyWith(job(1, 'a'), job(2, 'a'), job(3, 'b'));
    policy.setCap('a', 1);
    expect(takeIds(policy, 2)).toEqual([1, 3]);
    expect(position(policy, 2)).toBe(1);
    expect(policy.remove(2)).toBe(true);
    policy.release('a');
    expect(policy.take()).toBeUndefined();
  });

  it('lifts the cap when the settings no longer give one', () => {
    const policy = policyWith(job(1, 'a'), job(2, 'a'), job(3, 'a'));
    policy.setCap('a', 1);
    expect(takeIds(policy, 2)).toEqual([1, undefined]);
    policy.setCap('a', undefined);
    expect(takeIds(policy, 3)).toEqual([2, 3, undefined]);
  });

  it('releases parked jobs when the cap is raised', () => {
    const policy = policyWith(job(1, 'a'), job(2, 'a'));
    policy.setCap('a', 1);
    expect(takeIds(policy, 2)).toEqual([1, undefined]);
    policy.setCap('a', 2);
    expect(policy.take()?.id).toBe(2);
  });
});

// ---- model-based property test ----

const USERS = ['a', 'b', 'c'] as const;
const user = fc.constantFrom(...USERS);
type Op =
  | { op: 'enqueue'; user: string; priority: number }
  | { op: 'reenqueue'; pick: number }
  | { op: 'remove'; pick: number }
  | { op: 'take' }
  | { op: 'release'; user: string }
  | { op: 'occupy'; user: string }
  | { op: 'setLimit'; user: string; limit: number | undefined };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('enqueue' as const), user, priority: fc.integer({ min: 1, max: 5 }) }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('reenqueue' as const), pick: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('remove' as const), pick: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant('take' as const) }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('release' as const), user }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('occupy' as const), user }), weight: 1 },
  {
    arbitrary: fc.record({ op: fc.constant('setLimit' as const), user, limit: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }) }),
    weight: 2,
  },
);

describe('FifoPolicy against a reference model', () => {
  it('takes the lowest-id queued job whose user is under its cap, and only returns undefined when none is', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120, size: 'max' }), (ops) => {
        const policy = policyWith();
        const queued = new Map<number, QueuedJob>();
        const everQueued: QueuedJob[] = [];
        const running = new Map<string, number>();
        const limits = new Map<string, number>();
        const underCap = (u: string) => !limits.has(u) || (running.get(u) ?? 0) < limits.get(u)!;
        let nextId = 1;

        for (const o of ops) {
          switch (o.op) {
            case 'enqueue': {
              const j = job(nextId++, o.user, o.priority); // priority must not matter
              everQueued.push(j);
              policy.enqueue(j);
              queued.set(j.id, j);
              break;
            }
            case 'reenqueue': {
              const out = everQueued.filter((j) => !queued.has(j.id));
              if (out.length === 0) break;
              const j = out[o.pick % out.length]!;
              policy.enqueue(j);
              queued.set(j.id, j);
              break;
            }
            case 'remove': {
              const id = everQueued.length === 0 ? 1 : everQueued[o.pick % everQueued.length]!.id;
              expect(policy.remove(id)).toBe(queued.delete(id));
              break;
            }
            case 'take': {
              const eligible = [...queued.values()].filter((j) => underCap(j.userId)).sort((x, y) => x.id - y.id);
              const expected = eligible[0];
              const got = policy.take();
              // (a) lowest eligible id, (b) never over a cap, (d) undefined only when nothing is eligible
              if (got?.id !== expected?.id) expect(got?.id).toBe(expected?.id);
              if (expected) {
                queued.delete(expected.id);
                running.set(expected.userId, (running.get(expected.userId) ?? 0) + 1);
              }
              break;
            }
            case 'release': {
              const r = running.get(o.user) ?? 0;
              if (r === 0) break; // only release what runs
              policy.release(o.user);
              running.set(o.user, r - 1);
              break;
            }
            case 'occupy':
              policy.occupy(o.user);
              running.set(o.user, (running.get(o.user) ?? 0) + 1);
              break;
            case 'setLimit':
              policy.setCap(o.user, o.limit);
              if (o.limit === undefined) limits.delete(o.user);
              else limits.set(o.user, o.limit);
              break;
          }
          // (c) size, membership, positions and own-line places match the model
          if (policy.size !== queued.size) expect(policy.size).toBe(queued.size);
          const inOrder = [...queued.values()].sort((x, y) => x.id - y.id);
          const place = new Map(inOrder.map((j, i) => [j.id, i + 1]));
          const seen = new Map<string, number>();
          const own = new Map<number, number>();
          for (const j of inOrder) {
            own.set(j.id, seen.get(j.userId) ?? 0);
            seen.set(j.userId, (seen.get(j.userId) ?? 0) + 1);
          }
          const ids = everQueued.map((j) => j.id);
          const actual = ids.map((id) => `${id}:${policy.has(id)}:${policy.placement(id)?.position}:${policy.placement(id)?.ownAhead}`);
          const expected = ids.map((id) => `${id}:${place.has(id)}:${place.get(id)}:${own.get(id)}`);
          // (plain comparisons first: an expect() per step per run is most of this test's time)
          if (actual.join(' ') !== expected.join(' ')) expect(actual).toEqual(expected);
          const listed = [...policy.jobs()].map((j) => j.id).sort((x, y) => x - y).join(' ');
          if (listed !== inOrder.map((j) => j.id).join(' ')) expect(listed).toBe(inOrder.map((j) => j.id).join(' '));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('FifoPolicy without caps', () => {
  it('starts every job in global submission order, whatever the users, priorities, cancellations and processors', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ kind: fc.constant('submit' as const), user, priority: fc.integer({ min: 1, max: 5 }) }),
            fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }),
            fc.record({ kind: fc.constant('finish' as const), user }),
            fc.record({ kind: fc.constant('take' as const) }),
          ),
          { maxLength: 200 },
        ),
        fc.integer({ min: 1, max: 4 }),
        (steps, processors) => {
          const policy = new FifoPolicy();
          const running = new Map<string, number>();
          let busy = 0;
          let nextId = 1;
          const started: number[] = [];
          const cancelled = new Set<number>();
          for (const s of steps) {
            if (s.kind === 'submit') policy.enqueue(job(nextId++, s.user, s.priority));
            else if (s.kind === 'cancel') {
              const id = 1 + (s.pick % nextId);
              if (policy.remove(id)) cancelled.add(id);
            } else if (s.kind === 'finish' && (running.get(s.user) ?? 0) > 0) {
              policy.release(s.user);
              running.set(s.user, running.get(s.user)! - 1);
              busy--;
            }
            while (busy < processors) {
              const next = policy.take();
              if (!next) break;
              started.push(next.id);
              running.set(next.userId, (running.get(next.userId) ?? 0) + 1);
              busy++;
            }
          }
          for (let i = 1; i < started.length; i++) expect(started[i]).toBeGreaterThan(started[i - 1]!);
          // nothing submitted is lost: every job started, was cancelled, or still waits
          expect(started.length + cancelled.size + policy.size).toBe(nextId - 1);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('FifoPolicy in a long-lived server', () => {
  it('keeps its position index to the span of queued ids, however high ids go', () => {
    const policy = new FifoPolicy();
    let id = 1;
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 50; i++) policy.enqueue({ id: id++, userId: `u${i % 7}`, durationMs: 1, progressMs: 0, priority: 3 });
      for (let i = 0; i < 50; i++) policy.take();
      for (let i = 0; i < 7; i++) policy.release(`u${i}`);
    }
    // 10,000 ids seen, never more than 50 queued: the index stays small.
    policy.enqueue({ id: 1_000_000, userId: 'late', durationMs: 1, progressMs: 0, priority: 3 });
    policy.enqueue({ id: 1_000_001, userId: 'late', durationMs: 1, progressMs: 0, priority: 3 });
    expect(policy.placement(1_000_001)?.position).toBe(2);
    const tree = (policy as unknown as { earlier: { capacity: number } }).earlier;
    expect(tree.capacity).toBeLessThanOrEqual(2048);
  });
});
