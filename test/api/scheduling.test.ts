// Scheduling over the API: weighted shares, rules and their precedence, per-user caps,
// switching policy, settings that survive a restart, and who may see and change what.
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.ts';
import { ADMIN_TOKEN, startApp, tempDir, type TestApp } from '../helpers/app.ts';
import { codeOf, createUser, gql, ok, submit, wsClient, wsSubscribe, type TestUser } from '../helpers/client.ts';

const SCHEDULE = `schedule { policy reason position jobsAhead ownJobsAhead weight weightSource maxConcurrent
  maxConcurrentSource share userRunning userQueued summary }`;
const RULES = `tiers { tier weight maxConcurrent } users { userId weight maxConcurrent } default { weight maxConcurrent } updatedAt`;

interface JobRow {
  jobId: string;
  id: string;
  state: string;
  startedAt: string | null;
  finishedAt: string | null;
  user: { id: string };
}

/** Polls `read` until `done` holds (a generous deadline; never a fixed sleep for correctness). */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function schedule(url: string, token: string, jobId: string, userId?: string) {
  const data = await ok(url, token, `query ($jobId: String!, $userId: ID) { job(jobId: $jobId, userId: $userId) { state ${SCHEDULE} } }`, {
    jobId,
    userId,
  });
  return data.job.schedule;
}

async function submitMany(url: string, user: TestUser, jobs: Array<Record<string, unknown>>) {
  await ok(url, user.token, `mutation ($input: [SubmitJobInput!]!) { submitJobs(input: $input) { id } }`, { input: jobs });
}

/** Every job of the server (admin view), in server id order = global submission order. */
async function allJobs(url: string): Promise<JobRow[]> {
  const data = await ok(url, ADMIN_TOKEN, `{ jobs(first: 100) { edges { node { id jobId state startedAt finishedAt user { id } } } } }`);
  return (data.jobs.edges as Array<{ node: JobRow }>).map((e) => e.node).sort((a, b) => Number(a.id) - Number(b.id));
}

async function idle(url: string): Promise<void> {
  await until(
    () => ok(url, ADMIN_TOKEN, `{ queueState { queuedCount runningCount } }`),
    (d) => d.queueState.queuedCount === 0 && d.queueState.runningCount === 0,
    'the queue to drain',
  );
}

const byStart = (jobs: JobRow[]) =>
  [...jobs].sort((a, b) => Date.parse(a.startedAt!) - Date.parse(b.startedAt!) || Number(a.id) - Number(b.id));

async function setRules(url: string, input: Record<string, unknown>) {
  return (await ok(url, ADMIN_TOKEN, `mutation ($input: RulesInput!) { setRules(input: $input) { ${RULES} } }`, { input })).setRules;
}

describe('weighted-fair shares end to end', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ JOBLINE_PROCESSORS: '0' });
  });
  afterAll(() => t.stop());

  it('a gold user (weight 3) gets ~3 of every 4 starts, and each user\u2019s own jobs start in submission order', async () => {
    await setRules(t.url, { tiers: [{ tier: 'gold', weight: 3 }] });
    const a = await createUser(t.url, 'gold-ann', { tier: 'gold' });
    const b = await createUser(t.url, 'plain-bob');
    const N = 12;
    const aIds = Array.from({ length: N }, (_, i) => `a-${String(i).padStart(2, '0')}`);
    const bIds = Array.from({ length: N }, (_, i) => `b-${String(i).padStart(2, '0')}`);
    await submitMany(t.url, a, aIds.map((jobId) => ({ jobId, durationMs: 25 })));
    await submitMany(t.url, b, bIds.map((jobId) => ({ jobId, durationMs: 25 })));

    // While nothing can run: A's entitlement is 3 / (3 + 1).
    const a0 = await schedule(t.url, a.token, 'a-00');
    expect(a0).toMatchObject({
      policy: 'weighted-fair',
      reason: 'NO_PROCESSORS',
      weight: 3,
      weightSource: 'rule for tier "gold"',
      maxConcurrent: null,
      maxConcurrentSource: 'built-in default (no cap)',
      ownJobsAhead: 0,
      userRunning: 0,
      userQueued: N,
    });
    expect(a0.share).toBeCloseTo(0.75, 10);
    expect(a0.jobsAhead).toBe(a0.position - 1);
    expect(a0.summary).toContain('Weight 3 (rule for tier "gold")');
    expect(a0.summary).toContain('75%');

    const a5 = await schedule(t.url, a.token, 'a-05');
    expect(a5.ownJobsAhead).toBe(5);
    expect(a5.position).toBeGreaterThanOrEqual(6);
    const b7 = await schedule(t.url, b.token, 'b-07');
    expect(b7).toMatchObject({ weight: 1, weightSource: 'built-in default', ownJobsAhead: 7, userQueued: N });
    expect(b7.share).toBeCloseTo(0.25, 10);
    // Position is the same number as queuePosition.
    const b7job = (await ok(t.url, b.token, `{ job(jobId: "b-07") { queuePosition } }`)).job;
    expect(b7job.queuePosition).toBe(b7.position);

    const users = (await ok(t.url, ADMIN_TOKEN, `{ queueState { users { user { id } queued weight weightSource share } } }`)).queueState
      .users as Array<{ user: { id: string }; queued: number; weight: number; weightSource: string; share: number }>;
    const rowOf = (id: string) => users.find((u) => u.user.id === id)!;
    expect(rowOf(a.id)).toMatchObject({ queued: N, weight: 3, weightSource: 'rule for tier "gold"' });
    expect(rowOf(a.id).share).toBeCloseTo(0.75, 10);
    expect(rowOf(b.id)).toMatchObject({ queued: N, weight: 1, weightSource: 'built-in default' });
    expect(rowOf(b.id).share).toBeCloseTo(0.25, 10);

    // One processor: starts happen one at a time, in the policy's order.
    await ok(t.url, ADMIN_TOKEN, `mutation { addProcessors(count: 1) { id } }`);
    await idle(t.url);
    const jobs = await allJobs(t.url);
    expect(jobs.every((j) => j.state === 'SUCCEEDED')).toBe(true);
    const order = byStart(jobs);
    const firstEight = order.slice(0, 8);
    const aInFirstEight = firstEight.filter((j) => j.user.id === a.id).length;
    // SFQ: with equal job lengths, |W_a/3 - W_b/1| ≤ one job each side, so 5–7 of 8.
    expect(aInFirstEight, order.map((j) => j.jobId).join(' ')).toBeGreaterThanOrEqual(5);
    expect(aInFirstEight).toBeLessThanOrEqual(7);
    // Every prefix respects the bound, not just the first 8 (while both still had work).
    for (let n = 1; n <= 16; n++) {
      const prefix = order.slice(0, n);
      const wa = prefix.filter((j) => j.user.id === a.id).length;
      const wb = n - wa;
      expect(Math.abs(wa / 3 - wb), `after ${n} starts: ${wa} of A, ${wb} of B`).toBeLessThanOrEqual(1 / 3 + 1);
    }
    expect(order.filter((j) => j.user.id === a.id).map((j) => j.jobId)).toEqual(aIds);
    expect(order.filter((j) => j.user.id === b.id).map((j) => j.jobId)).toEqual(bIds);
  });
});

describe('rules take effect at once', () => {
  let t: TestApp;
  let carol: TestUser;
  let amy: TestUser;
  let ben: TestUser;
  beforeAll(async () => {
    t = await startApp({ JOBLINE_PROCESSORS: '1' });
    carol = await createUser(t.url, 'carol');
    amy = await createUser(t.url, 'amy', { tier: 'gold' });
    ben = await createUser(t.url, 'ben');
  });
  afterAll(() => t.stop());

  it('setRules re-weights queued work without a restart: Job.schedule, User.weight, shares and positions move', async () => {
    // Carol's long job holds the one processor, so the others wait for their turn.
    await submit(t.url, carol.token, { jobId: 'blocker', durationMs: 600_000 });
    await until(
      () => ok(t.url, carol.token, `{ job(jobId: "blocker") { state } }`),
      (d) => d.job.state === 'RUNNING',
      'the blocker to run',
    );
    const six = [0, 1, 2, 3, 4, 5];
    await submitMany(t.url, amy, six.map((i) => ({ jobId: `amy-${i}`, durationMs: 100 })));
    await submitMany(t.url, ben, six.map((i) => ({ jobId: `ben-${i}`, durationMs: 100 })));

    const before0 = await schedule(t.url, amy.token, 'amy-0');
    expect(before0).toMatchObject({
      reason: 'NEXT_IN_LINE',
      position: 1,
      ownJobsAhead: 0,
      weight: 1,
      weightSource: 'built-in default',
      userRunning: 0,
      userQueued: 6,
    });
    expect(before0.share).toBeCloseTo(1 / 3, 10); // amy, ben, carol: weight 1 each
    expect(await schedule(t.url, ben.token, 'ben-0')).toMatchObject({ reason: 'WAITING_FOR_TURN', ownJobsAhead: 0 });
    const before1 = await schedule(t.url, amy.token, 'amy-1');
    expect(before1).toMatchObject({ reason: 'BEHIND_OWN_JOBS', ownJobsAhead: 1 });
    const amyLastBefore = (await schedule(t.url, amy.token, 'amy-5')).position;
    const benSecondBefore = (await schedule(t.url, ben.token, 'ben-1')).position;
    expect((await ok(t.url, amy.token, `{ me { weight ownWeight schedule { weight weightSource } } }`)).me).toEqual({
      weight: 1,
      ownWeight: null,
      schedule: { weight: 1, weightSource: 'built-in default' },
    });

    const rules = await setRules(t.url, { tiers: [{ tier: 'gold', weight: 3 }] });
    expect(rules.tiers).toEqual([{ tier: 'gold', weight: 3, maxConcurrent: null }]);
    expect(rules.updatedAt).not.toBeNull();

    const after0 = await schedule(t.url, amy.token, 'amy-0');
    expect(after0).toMatchObject({ reason: 'NEXT_IN_LINE', weight: 3, weightSource: 'rule for tier "gold"' });
    expect(after0.share).toBeCloseTo(3 / 5, 10);
    expect((await schedule(t.url, ben.token, 'ben-0')).share).toBeCloseTo(1 / 5, 10);
    // With three times the weight, amy's later jobs are projected earlier, ben's later.
    expect((await schedule(t.url, amy.token, 'amy-5')).position).toBeLessThan(amyLastBefore);
    expect((await schedule(t.url, ben.token, 'ben-1')).position).toBeGreaterThan(benSecondBefore);
    expect((await ok(t.url, amy.token, `{ me { weight ownWeight schedule { weight weightSource share } } }`)).me).toMatchObject({
      weight: 3,
      ownWeight: null,
      schedule: { weight: 3, weightSource: 'rule for tier "gold"' },
    });
  });

  it('refuses invalid rules whole with BAD_USER_INPUT naming the entry, and keeps the old rules in force', async () => {
    const old = (await ok(t.url, ADMIN_TOKEN, `{ rules { ${RULES} } }`)).rules;
    expect(old.tiers).toEqual([{ tier: 'gold', weight: 3, maxConcurrent: null }]);
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ tiers: [{ tier: 'gold', weight: 1 }, { tier: 'silver', weight: 0 }] }, /tiers\[1\].*weight/],
      [{ tiers: [{ tier: 'gold', weight: 1 }, { tier: 'gold', weight: 2 }] }, /tiers\[1\].*gold.*more than once/],
      [{ tiers: [{ tier: 'gold', weight: 1 }, { tier: 'no spaces', weight: 2 }] }, /tiers\[1\].*tier/],
      [{ tiers: [{ tier: 'gold', maxConcurrent: 0 }] }, /tiers\[0\].*maxConcurrent/],
      [{ users: [{ userId: amy.id, weight: 2 }, { userId: 'not a valid id!', weight: 2 }] }, /users\[1\].*userId/],
      [{ users: [{ userId: amy.id, weight: 2 }, { userId: amy.id, weight: 3 }] }, /users\[1\].*more than once/],
      [{ default: { weight: 5000 } }, /default.*weight/],
    ];
    for (const [input, message] of cases) {
      const result = await gql(t.url, ADMIN_TOKEN, `mutation ($input: RulesInput!) { setRules(input: $input) { ${RULES} } }`, {
        input,
      });
      expect(codeOf(result), JSON.stringify(input)).toBe('BAD_USER_INPUT');
      expect(result.errors![0]!.message).toMatch(message);
    }
    expect((await ok(t.url, ADMIN_TOKEN, `{ rules { ${RULES} } }`)).rules).toEqual(old);
    // And the scheduler still uses them.
    expect(await schedule(t.url, amy.token, 'amy-0')).toMatchObject({ weight: 3, weightSource: 'rule for tier "gold"' });
    expect((await schedule(t.url, ben.token, 'ben-0')).share).toBeCloseTo(1 / 5, 10);
  });
});

describe('rule precedence and updateUser', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ JOBLINE_PROCESSORS: '0' });
  });
  afterAll(() => t.stop());

  const USER = `id tier weight maxConcurrent ownWeight ownMaxConcurrent
    schedule { weight weightSource maxConcurrent maxConcurrentSource }`;
  const userRow = async (id: string) => {
    const users = (await ok(t.url, ADMIN_TOKEN, `{ users { ${USER} } }`)).users as Array<{ id: string }>;
    return users.find((u) => u.id === id) as Record<string, any>;
  };
  const update = async (id: string, input: Record<string, unknown>) =>
    (await ok(t.url, ADMIN_TOKEN, `mutation ($id: ID!, $input: UpdateUserInput!) { updateUser(id: $id, input: $input) { ${USER} } }`, {
      id,
      input,
    })).updateUser;

  it('user-id rule > own setting > tier rule > default rule > built in, for each setting separately', async () => {
    await setRules(t.url, {
      default: { weight: 0.5, maxConcurrent: 7 },
      tiers: [{ tier: 'silver', weight: 2, maxConcurrent: 4 }],
      users: [{ userId: 'pinned', weight: 9 }],
    });
    await createUser(t.url, 'plain', { id: 'plain' });
    await createUser(t.url, 'tiered', { id: 'tiered', tier: 'silver' });
    const own = await createUser(t.url, 'own', { id: 'own', tier: 'silver', weight: 5 });
    await createUser(t.url, 'pinned', { id: 'pinned', tier: 'silver', weight: 5, maxConcurrent: 2 });

    expect(await userRow('plain')).toMatchObject({
      weight: 0.5,
      maxConcurrent: 7,
      schedule: { weight: 0.5, weightSource: 'default rule', maxConcurrent: 7, maxConcurrentSource: 'default rule' },
    });
    expect(await userRow('tiered')).toMatchObject({
      weight: 2,
      maxConcurrent: 4,
      ownWeight: null,
      schedule: { weightSource: 'rule for tier "silver"', maxConcurrentSource: 'rule for tier "silver"' },
    });
    // Own weight beats the tier's weight; the tier still gives the cap.
    expect(await userRow('own')).toMatchObject({
      weight: 5,
      ownWeight: 5,
      maxConcurrent: 4,
      ownMaxConcurrent: null,
      schedule: { weightSource: 'user setting', maxConcurrentSource: 'rule for tier "silver"' },
    });
    // The rule for the id beats the user's own weight; its own cap (not in the id rule) still counts.
    expect(await userRow('pinned')).toMatchObject({
      weight: 9,
      ownWeight: 5,
      maxConcurrent: 2,
      ownMaxConcurrent: 2,
      schedule: { weightSource: 'rule for user "pinned"', maxConcurrentSource: 'user setting' },
    });

    // The same sources show on a queued job and in queueState.
    await submit(t.url, own.token, { jobId: 'q', durationMs: 10 });
    expect(await schedule(t.url, own.token, 'q')).toMatchObject({
      weight: 5,
      weightSource: 'user setting',
      maxConcurrent: 4,
      maxConcurrentSource: 'rule for tier "silver"',
    });
    const rows = (await ok(t.url, ADMIN_TOKEN, `{ queueState { users { user { id } weight weightSource maxConcurrent share } } }`))
      .queueState.users;
    expect(rows).toEqual([{ user: { id: 'own' }, weight: 5, weightSource: 'user setting', maxConcurrent: 4, share: 1 }]);
  });

  it('updateUser: null clears an own setting back to the rules, absent keeps it, and it applies at once', async () => {
    expect(await update('own', { weight: null })).toMatchObject({
      tier: 'silver',
      weight: 2,
      ownWeight: null,
      schedule: { weightSource: 'rule for tier "silver"' },
    });
    expect(await schedule(t.url, ADMIN_TOKEN, 'q', 'own')).toMatchObject({ weight: 2, weightSource: 'rule for tier "silver"' });

    // Absent keeps: changing only the cap leaves tier and weight alone.
    expect(await update('own', { maxConcurrent: 3 })).toMatchObject({
      tier: 'silver',
      ownWeight: null,
      weight: 2,
      maxConcurrent: 3,
      ownMaxConcurrent: 3,
      schedule: { maxConcurrentSource: 'user setting' },
    });
    expect(await update('pinned', { maxConcurrent: null })).toMatchObject({
      weight: 9,
      maxConcurrent: 4,
      schedule: { weightSource: 'rule for user "pinned"', maxConcurrentSource: 'rule for tier "silver"' },
    });
    // Leaving the tier falls back to the default rule.
    expect(await update('tiered', { tier: null })).toMatchObject({
      tier: null,
      weight: 0.5,
      maxConcurrent: 7,
      schedule: { weightSource: 'default rule', maxConcurrentSource: 'default rule' },
    });
    // An own setting set by updateUser beats the id rule? No: the id rule stays on top.
    expect(await update('pinned', { weight: 100 })).toMatchObject({ weight: 9, ownWeight: 100 });

    // No rules at all: own settings, else built in.
    await setRules(t.url, {});
    expect(await userRow('plain')).toMatchObject({
      weight: 1,
      maxConcurrent: null,
      schedule: { weightSource: 'built-in default', maxConcurrentSource: 'built-in default (no cap)' },
    });
    expect(await userRow('pinned')).toMatchObject({ weight: 100, schedule: { weightSource: 'user setting' } });

    const missing = await gql(t.url, ADMIN_TOKEN, `mutation { updateUser(id: "nobody", input: { weight: 2 }) { id } }`);
    expect(codeOf(missing)).toBe('NOT_FOUND');
    const bad = await gql(t.url, ADMIN_TOKEN, `mutation { updateUser(id: "own", input: { weight: 0 }) { id } }`);
    expect(codeOf(bad)).toBe('BAD_USER_INPUT');
    expect((await userRow('own')).ownMaxConcurrent).toBe(3);
  });
});

describe('maxConcurrent from a tier rule', () => {
  let t: TestApp;
  let kim: TestUser;
  let fay: TestUser;
  beforeAll(async () => {
    t = await startApp({ JOBLINE_PROCESSORS: '3' });
    await setRules(t.url, { tiers: [{ tier: 'capped', maxConcurrent: 1 }] });
    kim = await createUser(t.url, 'kim', { tier: 'capped' });
    fay = await createUser(t.url, 'fay');
  });
  afterAll(() => t.stop());

  it('a capped user never runs 2 jobs at once, its queued job says AT_MAX_CONCURRENT, and others use the free processors', async () => {
    await submitMany(t.url, kim, [
      { jobId: 'k-0', durationMs: 600_000 },
      ...[1, 2, 3].map((i) => ({ jobId: `k-${i}`, durationMs: 60 })),
    ]);
    const waiting = await schedule(t.url, kim.token, 'k-1');
    expect(waiting).toMatchObject({
      reason: 'AT_MAX_CONCURRENT',
      maxConcurrent: 1,
      maxConcurrentSource: 'rule for tier "capped"',
      userRunning: 1,
      userQueued: 3,
      ownJobsAhead: 0,
    });
    expect(waiting.summary).toContain('max 1');

    // Fay's jobs run on the two other processors while kim waits at her cap.
    const fayIds = Array.from({ length: 6 }, (_, i) => `f-${i}`);
    await submitMany(t.url, fay, fayIds.map((jobId) => ({ jobId, durationMs: 80 })));
    await until(
      () => allJobs(t.url),
      (jobs) => jobs.filter((j) => j.user.id === fay.id && j.state === 'SUCCEEDED').length === 6,
      'fay\u2019s jobs to finish',
    );
    const state = (await ok(t.url, ADMIN_TOKEN, `{ queueState { runningCount users { user { id } queued running maxConcurrent } processors { state } } }`))
      .queueState;
    expect(state.runningCount).toBe(1);
    expect(state.users).toEqual([{ user: { id: kim.id }, queued: 3, running: 1, maxConcurrent: 1 }]);
    expect(state.processors.map((p: { state: string }) => p.state).sort()).toEqual(['BUSY', 'IDLE', 'IDLE']);
    expect((await schedule(t.url, kim.token, 'k-1')).reason).toBe('AT_MAX_CONCURRENT');

    // Fay used both free processors at once.
    const fayRuns = (await allJobs(t.url)).filter((j) => j.user.id === fay.id);
    expect(peakOverlap(fayRuns)).toBe(2);

    // Kim's running job ends: her next ones run, still one at a time, as her own queue
    // stream shows at every change.
    const ws = wsClient(t.url, kim.token);
    try {
      const stream = wsSubscribe<{ myQueue: { queued: Array<{ jobId: string }>; running: Array<{ jobId: string }> } }>(
        ws,
        `subscription { myQueue { queued { jobId } running { jobId } } }`,
      );
      const first = (await stream.next()).data!.myQueue;
      expect(first.running.map((j) => j.jobId)).toEqual(['k-0']);
      await ok(t.url, kim.token, `mutation { cancelJob(jobId: "k-0") { state } }`);
      const snapshots = [
        first,
        ...(await stream.collect((m) => m.data!.myQueue.queued.length === 0 && m.data!.myQueue.running.length === 0)).map(
          (m) => m.data!.myQueue,
        ),
      ];
      stream.unsubscribe();
      for (const snapshot of snapshots) expect(snapshot.running.length, JSON.stringify(snapshot)).toBeLessThanOrEqual(1);
    } finally {
      await ws.dispose();
    }
    await idle(t.url);
    const kimRuns = (await allJobs(t.url)).filter((j) => j.user.id === kim.id);
    expect(kimRuns.map((j) => j.state)).toEqual(['CANCELLED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    // The same from the recorded times (see peakOverlap on the 1 ms slack).
    expect(peakOverlap(kimRuns)).toBe(1);
    const ordered = byStart(kimRuns);
    expect(ordered.map((j) => j.jobId)).toEqual(['k-0', 'k-1', 'k-2', 'k-3']);
    for (let i = 1; i < ordered.length; i++) {
      expect(Date.parse(ordered[i]!.startedAt!)).toBeGreaterThanOrEqual(Date.parse(ordered[i - 1]!.finishedAt!) - SLACK_MS);
    }
  });
});

/**
 * A job that ends when its timer fires is recorded as finished at start + duration, even
 * when the timer fires a millisecond early by the wall clock; the processor's next job is
 * then recorded as starting up to that much before the previous one's finishedAt.
 */
const SLACK_MS = 2;

/** Most runs overlapping at one instant (ends within SLACK_MS of a start do not overlap). */
function peakOverlap(runs: JobRow[]): number {
  const points = runs
    .filter((r) => r.startedAt && r.finishedAt)
    .flatMap((r) => [
      { t: Date.parse(r.startedAt!), d: 1 },
      { t: Date.parse(r.finishedAt!) - SLACK_MS, d: -1 },
    ]);
  points.sort((a, b) => a.t - b.t || a.d - b.d);
  let running = 0;
  let peak = 0;
  for (const p of points) peak = Math.max(peak, (running += p.d));
  return peak;
}

describe('policy switching and durable settings', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('setPolicy("fifo") switches at once to global submission order; an unknown name is BAD_USER_INPUT', async () => {
    const dir = tempDir();
    dirs.push(dir);
    let t = await startApp({ JOBLINE_PROCESSORS: '0' }, dir, { keepDir: true });
    try {
      await setRules(t.url, { tiers: [{ tier: 'gold', weight: 5 }] });
      const ann = await createUser(t.url, 'ann');
      const bo = await createUser(t.url, 'bo', { tier: 'gold' });

      const switched = await ok(t.url, ADMIN_TOKEN, `mutation { setPolicy(name: "fifo") { policy } }`);
      expect(switched.setPolicy.policy).toBe('fifo');
      expect((await ok(t.url, ann.token, `{ queueState { policy } }`)).queueState.policy).toBe('fifo');

      // Interleaved submissions; bo has 5× the weight and asks for higher priority on later
      // jobs: fifo ignores both.
      const order: string[] = [];
      for (let i = 0; i < 4; i++) {
        await submit(t.url, ann.token, { jobId: `ann-${i}`, durationMs: 20 });
        await submit(t.url, bo.token, { jobId: `bo-${i}`, durationMs: 20, priority: 1 + i });
        order.push(`ann-${i}`, `bo-${i}`);
      }
      const bo1 = await schedule(t.url, bo.token, 'bo-1');
      expect(bo1).toMatchObject({ policy: 'fifo', position: 4, jobsAhead: 3, ownJobsAhead: 1, weight: 5 });
      expect(bo1.summary).toContain('Policy fifo');
      expect((await schedule(t.url, ann.token, 'ann-3')).position).toBe(7);

      const unknown = await gql(t.url, ADMIN_TOKEN, `mutation { setPolicy(name: "lottery") { policy } }`);
      expect(codeOf(unknown)).toBe('BAD_USER_INPUT');
      expect(unknown.errors![0]!.message).toContain('lottery');
      expect((await ok(t.url, ADMIN_TOKEN, `{ queueState { policy } }`)).queueState.policy).toBe('fifo');

      await ok(t.url, ADMIN_TOKEN, `mutation { addProcessors(count: 1) { id } }`);
      await idle(t.url);
      expect(byStart(await allJobs(t.url)).map((j) => j.jobId)).toEqual(order);

      // Settings to carry over a restart.
      const autoscale = await ok(
        t.url,
        ADMIN_TOKEN,
        `mutation { setAutoscale(input: { enabled: true, min: 1, max: 3, targetBacklog: 7, scaleDownDelayMs: 12345 }) {
          enabled min max targetBacklog scaleDownDelayMs } }`,
      );
      expect(autoscale.setAutoscale).toEqual({ enabled: true, min: 1, max: 3, targetBacklog: 7, scaleDownDelayMs: 12345 });
      const rulesBefore = (await ok(t.url, ADMIN_TOKEN, `{ rules { ${RULES} } }`)).rules;
      await t.stop();

      t = await startApp({ JOBLINE_PROCESSORS: '1' }, dir, { keepDir: true });
      const after = await ok(
        t.url,
        ADMIN_TOKEN,
        `{ rules { ${RULES} } queueState { policy autoscale { enabled min max targetBacklog scaleDownDelayMs } }
           users { id weight schedule { weightSource } } }`,
      );
      expect(after.queueState.policy).toBe('fifo');
      expect(after.rules).toEqual(rulesBefore);
      expect(after.queueState.autoscale).toEqual({ enabled: true, min: 1, max: 3, targetBacklog: 7, scaleDownDelayMs: 12345 });
      expect(after.users.find((u: { id: string }) => u.id === bo.id)).toEqual({
        id: bo.id,
        weight: 5,
        schedule: { weightSource: 'rule for tier "gold"' },
      });
      await t.stop();

      // The environment wins at start.
      t = await startApp({ JOBLINE_PROCESSORS: '1', JOBLINE_POLICY: 'weighted-fair' }, dir, { keepDir: true });
      expect((await ok(t.url, ADMIN_TOKEN, `{ queueState { policy } }`)).queueState.policy).toBe('weighted-fair');
    } finally {
      await t.stop();
    }
  });

  it('JOBLINE_RULES_FILE is applied at start; a bad file makes the start fail naming the entry', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const file = path.join(dir, 'rules.json');
    writeFileSync(file, JSON.stringify({ default: { maxConcurrent: 9 }, tiers: [{ tier: 'gold', weight: 4 }], users: [{ userId: 'vip', weight: 10 }] }));
    const t = await startApp({ JOBLINE_PROCESSORS: '0', JOBLINE_RULES_FILE: file }, dir, { keepDir: true });
    try {
      const { rules } = await ok(t.url, ADMIN_TOKEN, `{ rules { ${RULES} } }`);
      expect(rules).toMatchObject({
        default: { weight: null, maxConcurrent: 9 },
        tiers: [{ tier: 'gold', weight: 4, maxConcurrent: null }],
        users: [{ userId: 'vip', weight: 10, maxConcurrent: null }],
      });
      const gold = await createUser(t.url, 'goldie', { tier: 'gold' });
      expect((await ok(t.url, gold.token, `{ me { weight maxConcurrent schedule { weightSource maxConcurrentSource } } }`)).me).toEqual({
        weight: 4,
        maxConcurrent: 9,
        schedule: { weightSource: 'rule for tier "gold"', maxConcurrentSource: 'default rule' },
      });
    } finally {
      await t.stop();
    }

    const bad = [
      [{ tiers: [{ tier: 'gold', weight: 4 }, { tier: 'free', maxConcurrent: 0 }] }, /tiers\[1\]/],
      [{ tiers: [{ tier: 'gold', wieght: 4 }] }, /tiers\[0\].*wieght/],
      [{ users: [{ userId: '', weight: 1 }] }, /users\[0\]/],
    ] as const;
    for (const [content, message] of bad) {
      const badDir = tempDir();
      dirs.push(badDir);
      const badFile = path.join(badDir, 'rules.json');
      writeFileSync(badFile, JSON.stringify(content));
      const start = startApp({ JOBLINE_PROCESSORS: '0', JOBLINE_RULES_FILE: badFile }, badDir, { keepDir: true });
      await expect(start).rejects.toThrow(message);
      await expect(start).rejects.toBeInstanceOf(ConfigError);
    }
    const unreadableDir = tempDir();
    dirs.push(unreadableDir);
    await expect(
      startApp({ JOBLINE_PROCESSORS: '0', JOBLINE_RULES_FILE: path.join(unreadableDir, 'missing.json') }, unreadableDir, { keepDir: true }),
    ).rejects.toThrow(/JOBLINE_RULES_FILE/);
  });
});

describe('authorization of scheduling', () => {
  let t: TestApp;
  let ua: TestUser;
  let ub: TestUser;
  beforeAll(async () => {
    t = await startApp({ JOBLINE_PROCESSORS: '0' });
    await setRules(t.url, { tiers: [{ tier: 'gold', weight: 3 }] });
    ua = await createUser(t.url, 'ua');
    ub = await createUser(t.url, 'ub', { tier: 'gold' });
    await submit(t.url, ua.token, { jobId: 'mine', durationMs: 10 });
    await submit(t.url, ub.token, { jobId: 'secret', durationMs: 10 });
  });
  afterAll(() => t.stop());

  it('a USER is FORBIDDEN from reading or changing rules, policy, autoscaling and users\u2019 settings', async () => {
    const attempts = [
      `{ rules { tiers { tier } } }`,
      `mutation { setRules(input: { tiers: [{ tier: "x", weight: 1000 }] }) { updatedAt } }`,
      `mutation { setPolicy(name: "fifo") { policy } }`,
      `mutation { setAutoscale(input: { enabled: true, max: 100 }) { enabled } }`,
      `mutation { updateUser(id: "${ua.id}", input: { weight: 1000 }) { id } }`,
      `mutation { updateUser(id: "${ub.id}", input: { weight: 0.001 }) { id } }`,
    ];
    for (const query of attempts) {
      const result = await gql(t.url, ua.token, query);
      expect(codeOf(result), query).toBe('FORBIDDEN');
      expect(result.data ?? null, query).toBeNull();
    }
    // Nothing changed.
    const after = await ok(t.url, ADMIN_TOKEN, `{ rules { tiers { tier weight } } queueState { policy autoscale { enabled max } } users { id weight } }`);
    expect(after.rules.tiers).toEqual([{ tier: 'gold', weight: 3 }]);
    expect(after.queueState.policy).toBe('weighted-fair');
    expect(after.queueState.autoscale).toEqual({ enabled: false, max: 8 });
    expect(after.users.filter((u: { id: string }) => u.id !== 'admin')).toEqual([
      { id: ua.id, weight: 1 },
      { id: ub.id, weight: 3 },
    ]);
  });

  it('a USER sees only its own queueState row (with its share) and never another user\u2019s Job.schedule', async () => {
    const { queueState } = await ok(t.url, ua.token, `{ queueState { queuedCount users { user { id } queued weight share } } }`);
    expect(queueState.users).toHaveLength(1);
    expect(queueState.users[0]).toMatchObject({ user: { id: ua.id }, queued: 1, weight: 1 });
    expect(queueState.users[0].share).toBeCloseTo(1 / 4, 10);

    // Another user's job: not visible by name, by owner, nor through a listing.
    expect((await ok(t.url, ua.token, `{ job(jobId: "secret", userId: "${ub.id}") { id ${SCHEDULE} } }`)).job).toBeNull();
    expect((await ok(t.url, ua.token, `{ job(jobId: "secret") { id ${SCHEDULE} } }`)).job).toBeNull();
    expect(codeOf(await gql(t.url, ua.token, `{ jobs(filter: { userId: "${ub.id}" }) { edges { node { ${SCHEDULE} } } } }`))).toBe(
      'FORBIDDEN',
    );
    const listed = (await ok(t.url, ua.token, `{ jobs(first: 100) { edges { node { jobId user { id } } } } }`)).jobs.edges;
    expect(listed.map((e: { node: { jobId: string } }) => e.node.jobId)).toEqual(['mine']);
    // Its own job's schedule is there; the admin sees ub's.
    expect((await schedule(t.url, ua.token, 'mine')).share).toBeCloseTo(1 / 4, 10);
    expect((await schedule(t.url, ADMIN_TOKEN, 'secret', ub.id)).weight).toBe(3);

    // A user with no work still gets its own row, with the share it would have.
    const idleUser = await createUser(t.url, 'uc');
    const own = (await ok(t.url, idleUser.token, `{ queueState { users { user { id } queued running share } } }`)).queueState.users;
    expect(own).toHaveLength(1);
    expect(own[0]).toMatchObject({ user: { id: idleUser.id }, queued: 0, running: 0 });
    expect(own[0].share).toBeCloseTo(1 / 5, 10);
  });
});

describe('priority within a user', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startApp({ JOBLINE_PROCESSORS: '0' });
  });
  afterAll(() => t.stop());

  it('myQueue lists a user’s queued jobs in the order they will start, a later high-priority job first', async () => {
    const user = await createUser(t.url, 'prio-pat');
    await submitMany(t.url, user, [
      { jobId: 'p-a', durationMs: 10 },
      { jobId: 'p-b', durationMs: 10 },
      { jobId: 'p-urgent', durationMs: 10, priority: 5 },
      { jobId: 'p-c', durationMs: 10, priority: 1 },
    ]);
    const ws = wsClient(t.url, user.token);
    try {
      const stream = wsSubscribe<{ myQueue: { queued: Array<{ jobId: string; queuePosition: number }> } }>(
        ws,
        `subscription { myQueue { queued { jobId queuePosition } } }`,
      );
      const first = (await stream.next()).data!.myQueue.queued;
      stream.unsubscribe();
      expect(first).toEqual([
        { jobId: 'p-urgent', queuePosition: 1 },
        { jobId: 'p-a', queuePosition: 2 },
        { jobId: 'p-b', queuePosition: 3 },
        { jobId: 'p-c', queuePosition: 4 },
      ]);
    } finally {
      await ws.dispose();
    }
  });
});
