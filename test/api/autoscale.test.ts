// Autoscaling of built-in processors, on a clock the test moves: decisions happen only at
// the autoscaler's interval, scale up at once, scale down only after the load stayed low
// for the delay, and never take a processor away from a job it is running.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.ts';
import { ADMIN_TOKEN, startApp, tempDir, type TestApp } from '../helpers/app.ts';
import { codeOf, createUser, gql, ok, submit, type TestUser } from '../helpers/client.ts';
import { ManualClock } from '../helpers/manual-clock.ts';

const STATE = `{ queueState { queuedCount runningCount
  processors { id name state currentJob { jobId } }
  autoscale { enabled min max targetBacklog scaleDownDelayMs recommendation decisions { at from to reason } } } }`;

interface Decision {
  at: string;
  from: number;
  to: number;
  reason: string;
}
interface State {
  queuedCount: number;
  runningCount: number;
  processors: Array<{ id: string; name: string; state: string; currentJob: { jobId: string } | null }>;
  autoscale: {
    enabled: boolean;
    min: number;
    max: number;
    targetBacklog: number;
    scaleDownDelayMs: number;
    recommendation: number | null;
    decisions: Decision[];
  };
}

async function state(url: string): Promise<State> {
  return (await ok<{ queueState: State }>(url, ADMIN_TOKEN, STATE)).queueState;
}

/** Polls the queue state until `done` holds (a generous deadline; no fixed sleeps). */
async function until(url: string, done: (s: State) => boolean, what: string, timeoutMs = 10_000): Promise<State> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await state(url);
    if (done(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last state: ${JSON.stringify(s)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const active = (s: State) => s.processors.filter((p) => p.state !== 'DRAINING');

/**
 * The last decision has been carried out: as many processors (not draining) as it asked
 * for. Ticks while a decision is still being applied are skipped, so every step waits.
 */
const applied = (s: State) => s.autoscale.decisions.length === 0 || active(s).length === s.autoscale.decisions[0]!.to;

async function jobState(url: string, token: string, jobId: string) {
  return (await ok(url, token, `query ($jobId: String!) { job(jobId: $jobId) { state attempts runMs startedAt finishedAt processor { id } } }`, { jobId })).job;
}

async function untilJob(url: string, token: string, jobId: string, wanted: string) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const job = await jobState(url, token, jobId);
    if (job.state === wanted) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} did not become ${wanted}: ${JSON.stringify(job)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const SET_AUTOSCALE = `mutation ($input: AutoscaleInput!) { setAutoscale(input: $input) {
  enabled min max targetBacklog scaleDownDelayMs recommendation decisions { from to } } }`;

describe('autoscaling on a manual clock', () => {
  const INTERVAL = 1000;
  const DELAY = 5000;
  let clock: ManualClock;
  let t: TestApp;
  let user: TestUser;

  /** Moves the clock one autoscaler interval at a time, letting each decision take effect. */
  async function advance(ms: number): Promise<State> {
    let s = await state(t.url);
    for (let done = 0; done < ms; done += INTERVAL) {
      clock.advance(Math.min(INTERVAL, ms - done));
      s = await until(t.url, applied, 'the last decision to be applied');
    }
    return s;
  }

  beforeAll(async () => {
    clock = new ManualClock();
    t = await startApp({ JOBLINE_PROCESSORS: '0', JOBLINE_AUTOSCALE_INTERVAL_MS: String(INTERVAL) }, tempDir(), { clock });
    user = await createUser(t.url, 'scaler');
  });
  afterAll(() => t.stop());

  it('scales up at the next interval to what the backlog calls for, never past max, and records why', async () => {
    const configured = await ok(t.url, ADMIN_TOKEN, SET_AUTOSCALE, {
      input: { enabled: true, min: 0, max: 4, targetBacklog: 2, scaleDownDelayMs: DELAY },
    });
    expect(configured.setAutoscale).toEqual({
      enabled: true,
      min: 0,
      max: 4,
      targetBacklog: 2,
      scaleDownDelayMs: DELAY,
      recommendation: 0,
      decisions: [],
    });

    // 16 runnable jobs call for ⌈16 / 2⌉ = 8 processors: more than max.
    await ok(t.url, user.token, `mutation ($input: [SubmitJobInput!]!) { submitJobs(input: $input) { id } }`, {
      input: Array.from({ length: 16 }, (_, i) => ({ jobId: `long-${i}`, durationMs: 600_000 })),
    });
    // Not yet: the autoscaler decides only at its interval.
    const before = await state(t.url);
    expect(before.processors).toEqual([]);
    expect(before.autoscale.recommendation).toBe(4); // clamped to max
    expect(before.autoscale.decisions).toEqual([]);

    const tickAt = clock.now() + INTERVAL;
    clock.advance(INTERVAL - 1);
    expect((await state(t.url)).autoscale.decisions).toEqual([]);
    clock.advance(1);
    const after = await until(t.url, (s) => s.processors.length === 4 && s.runningCount === 4, 'four busy processors');
    expect(after.processors.every((p) => p.state === 'BUSY')).toBe(true);
    expect(after.queuedCount).toBe(12);
    expect(after.autoscale.recommendation).toBe(4); // ⌈12 / 2⌉ = 6, clamped to max
    expect(after.autoscale.decisions).toHaveLength(1);
    const decision = after.autoscale.decisions[0]!;
    expect(decision).toMatchObject({ from: 0, to: 4, at: new Date(tickAt).toISOString() });
    expect(decision.reason).toMatch(/^scale up 0→4: 16 queued jobs could start now, on 0 processors \(target: 2 waiting per processor\)/);
  });

  it('scales down only once the load stayed low for scaleDownDelayMs, keeps the busy processor, then goes to min', async () => {
    // A job of known length on the manual clock keeps one processor busy through the delay.
    // The load drops right after the scale-up: the delay still applies.
    for (let i = 0; i < 16; i++) await ok(t.url, user.token, `mutation { cancelJob(jobId: "long-${i}") { state } }`);
    const lowSince = clock.now();
    const FINISHER_MS = 8000;
    await submit(t.url, user.token, { jobId: 'finisher', durationMs: FINISHER_MS });
    const started = await untilJob(t.url, user.token, 'finisher', 'RUNNING');
    expect(Date.parse(started.startedAt)).toBe(lowSince);
    const busyId = started.processor.id as string;

    const low = await state(t.url);
    expect(low.autoscale.recommendation).toBe(1); // the busy one
    expect(low.processors).toHaveLength(4);

    // Less than the delay: nothing is removed.
    const waiting = await advance(DELAY - INTERVAL);
    expect(waiting.processors).toHaveLength(4);
    expect(waiting.autoscale.decisions).toHaveLength(1);

    // Past the delay (the window is inclusive, so allow one more interval): down to 1.
    let s = waiting;
    for (let i = 0; i < 3 && s.processors.length === 4; i++) s = await advance(INTERVAL);
    s = await until(t.url, (x) => x.processors.length === 1, 'three idle processors to leave');
    const down = s.autoscale.decisions[0]!;
    expect(down).toMatchObject({ from: 4, to: 1 });
    expect(down.reason).toMatch(/^scale down 4→1/);
    expect(Date.parse(down.at) - lowSince).toBeGreaterThanOrEqual(DELAY);
    expect(Date.parse(down.at) - lowSince).toBeLessThanOrEqual(DELAY + 2 * INTERVAL);
    // The one left is the busy one, still running its job.
    expect(s.processors).toEqual([expect.objectContaining({ id: busyId, state: 'BUSY', currentJob: { jobId: 'finisher' } })]);
    expect((await jobState(t.url, user.token, 'finisher')).state).toBe('RUNNING');

    // The job runs to its end, uninterrupted.
    await advance(lowSince + FINISHER_MS - clock.now());
    const finished = await untilJob(t.url, user.token, 'finisher', 'SUCCEEDED');
    expect(finished).toMatchObject({ attempts: 1, runMs: FINISHER_MS, processor: { id: busyId } });
    expect(Date.parse(finished.finishedAt)).toBe(lowSince + FINISHER_MS);
    const idleSince = clock.now();
    expect((await state(t.url)).processors).toEqual([expect.objectContaining({ id: busyId, state: 'IDLE' })]);

    // Idle now: after another delay, down to min (0).
    const kept = await advance(DELAY - INTERVAL);
    expect(kept.processors).toHaveLength(1);
    s = kept;
    for (let i = 0; i < 3 && s.processors.length === 1; i++) s = await advance(INTERVAL);
    expect(s.processors).toEqual([]);
    const last = s.autoscale.decisions[0]!;
    expect(last).toMatchObject({ from: 1, to: 0 });
    expect(Date.parse(last.at) - idleSince).toBeGreaterThanOrEqual(DELAY);
    expect(s.autoscale.decisions.map((d) => [d.from, d.to])).toEqual([
      [1, 0],
      [4, 1],
      [0, 4],
    ]);
  });

  it('lowering max below the busy count drains: the running job finishes before its processor leaves', async () => {
    const JOB_MS = 3000;
    await ok(t.url, user.token, `mutation ($input: [SubmitJobInput!]!) { submitJobs(input: $input) { id } }`, {
      input: Array.from({ length: 4 }, (_, i) => ({ jobId: `work-${i}`, durationMs: JOB_MS })),
    });
    const up = await advance(INTERVAL);
    expect(up.processors).toHaveLength(2); // ⌈4 / 2⌉
    const s0 = await until(t.url, (s) => s.runningCount === 2, 'two jobs running');
    expect(s0.processors.every((p) => p.state === 'BUSY')).toBe(true);

    const lowered = await ok(t.url, ADMIN_TOKEN, SET_AUTOSCALE, { input: { max: 1 } });
    expect(lowered.setAutoscale).toMatchObject({ enabled: true, min: 0, max: 1, targetBacklog: 2, scaleDownDelayMs: DELAY });
    const draining = await until(t.url, (s) => s.processors.some((p) => p.state === 'DRAINING'), 'a processor to drain');
    expect(draining.autoscale.decisions[0]).toMatchObject({ from: 2, to: 1 });
    expect(draining.autoscale.decisions[0]!.reason).toContain('above the maximum of 1');
    const drainer = draining.processors.find((p) => p.state === 'DRAINING')!;
    // Still running its job, which is not put back in line.
    expect(drainer.currentJob).not.toBeNull();
    const drainedJob = drainer.currentJob!.jobId;
    expect(draining.runningCount).toBe(2);
    expect(draining.processors).toHaveLength(2);

    // Until the job's end, the processor stays, draining.
    const job = await jobState(t.url, user.token, drainedJob);
    const endsAt = Date.parse(job.startedAt) + JOB_MS;
    clock.advance(endsAt - clock.now() - 1);
    const almost = await state(t.url);
    expect(almost.processors.find((p) => p.id === drainer.id)?.state).toBe('DRAINING');
    expect((await jobState(t.url, user.token, drainedJob)).state).toBe('RUNNING');

    clock.advance(1);
    const done = await untilJob(t.url, user.token, drainedJob, 'SUCCEEDED');
    expect(done).toMatchObject({ attempts: 1, runMs: JOB_MS, processor: { id: drainer.id } });
    const after = await until(t.url, (s) => !s.processors.some((p) => p.id === drainer.id), 'the drained processor to leave');
    expect(after.processors).toHaveLength(1);
    expect(after.processors[0]!.state).toBe('BUSY'); // the other one goes on with the queue
  });
});

describe('autoscaling configuration', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const ENV = {
    JOBLINE_PROCESSORS: '0',
    JOBLINE_AUTOSCALE_MAX: '3',
    JOBLINE_AUTOSCALE_MIN: '1',
    JOBLINE_AUTOSCALE_TARGET_BACKLOG: '5',
    JOBLINE_AUTOSCALE_SCALE_DOWN_DELAY_MS: '2000',
    JOBLINE_AUTOSCALE_INTERVAL_MS: '500',
  };

  it('JOBLINE_AUTOSCALE_* turn it on at start, ticking at JOBLINE_AUTOSCALE_INTERVAL_MS', async () => {
    const clock = new ManualClock();
    const t = await startApp(ENV, tempDir(), { clock });
    try {
      const user = await createUser(t.url, 'env-user');
      const start = clock.now();
      const initial = await state(t.url);
      expect(initial.autoscale).toEqual({
        enabled: true,
        min: 1,
        max: 3,
        targetBacklog: 5,
        scaleDownDelayMs: 2000,
        recommendation: 1,
        decisions: [],
      });
      expect(initial.processors).toEqual([]);

      // Below min, but nothing happens before the first interval is up.
      clock.advance(499);
      const early = await state(t.url);
      expect(early.processors).toEqual([]);
      expect(early.autoscale.decisions).toEqual([]);
      clock.advance(1);
      const first = await until(t.url, (s) => s.processors.length === 1, 'the minimum of 1');
      expect(first.autoscale.decisions).toEqual([
        { at: new Date(start + 500).toISOString(), from: 0, to: 1, reason: expect.stringMatching(/^scale up 0→1: below the minimum of 1/) },
      ]);

      // 11 jobs: one runs, 10 runnable → ⌈10 / 5⌉ = 2.
      await ok(t.url, user.token, `mutation ($input: [SubmitJobInput!]!) { submitJobs(input: $input) { id } }`, {
        input: Array.from({ length: 11 }, (_, i) => ({ jobId: `e-${i}`, durationMs: 600_000 })),
      });
      expect((await state(t.url)).autoscale.recommendation).toBe(2);
      clock.advance(500);
      await until(t.url, (s) => s.processors.length === 2, 'two processors');
      // Far more work: capped at max 3.
      await ok(t.url, user.token, `mutation ($input: [SubmitJobInput!]!) { submitJobs(input: $input) { id } }`, {
        input: Array.from({ length: 30 }, (_, i) => ({ jobId: `f-${i}`, durationMs: 600_000 })),
      });
      clock.advance(500);
      const capped = await until(t.url, (s) => s.processors.length === 3 && s.runningCount === 3, 'three processors');
      expect(capped.autoscale.decisions[0]).toMatchObject({ from: 2, to: 3 });
      clock.advance(500);
      const still = await until(t.url, applied, 'no change');
      expect(still.processors).toHaveLength(3);
      expect(still.autoscale.decisions).toHaveLength(3);

      // Turned off: no recommendation, and a count above max is left alone.
      const off = await ok(t.url, ADMIN_TOKEN, SET_AUTOSCALE, { input: { enabled: false } });
      expect(off.setAutoscale).toMatchObject({ enabled: false, min: 1, max: 3, recommendation: null });
      await ok(t.url, ADMIN_TOKEN, `mutation { addProcessors(count: 2) { id } }`);
      await until(t.url, (s) => s.runningCount === 5, 'five jobs running');
      clock.advance(5000);
      const quiet = await state(t.url);
      expect(quiet.processors).toHaveLength(5);
      expect(quiet.autoscale.decisions).toHaveLength(3);
      // Back on, it corrects the count at once (the busy ones drain).
      await ok(t.url, ADMIN_TOKEN, SET_AUTOSCALE, { input: { enabled: true } });
      const corrected = await until(t.url, (s) => active(s).length === 3, 'back to max');
      expect(corrected.autoscale.decisions[0]).toMatchObject({ from: 5, to: 3 });
      expect(corrected.autoscale.decisions[0]!.reason).toContain('above the maximum of 3');
      expect(corrected.processors.filter((p) => p.state === 'DRAINING')).toHaveLength(2);
      expect(corrected.runningCount).toBe(5);
    } finally {
      await t.stop();
    }
  });

  it('refuses invalid settings (min > max and out-of-range values) with BAD_USER_INPUT, changing nothing', async () => {
    const t = await startApp(ENV, tempDir(), { clock: new ManualClock() });
    try {
      const cases: Array<[Record<string, unknown>, RegExp]> = [
        [{ min: 4 }, /min \(4\) must not exceed max \(3\)/],
        [{ min: 2, max: 1 }, /min \(2\) must not exceed max \(1\)/],
        [{ max: 0 }, /max/],
        [{ max: 1001 }, /max/],
        [{ min: -1 }, /min/],
        [{ targetBacklog: 0 }, /targetBacklog/],
        [{ scaleDownDelayMs: -1 }, /scaleDownDelayMs/],
      ];
      for (const [input, message] of cases) {
        const result = await gql(t.url, ADMIN_TOKEN, SET_AUTOSCALE, { input });
        expect(codeOf(result), JSON.stringify(input)).toBe('BAD_USER_INPUT');
        expect(result.errors![0]!.message).toMatch(message);
      }
      const unchanged = await state(t.url);
      expect(unchanged.autoscale).toMatchObject({ enabled: true, min: 1, max: 3, targetBacklog: 5, scaleDownDelayMs: 2000 });

      // Fields left out keep their values.
      const partial = await ok(t.url, ADMIN_TOKEN, SET_AUTOSCALE, { input: { targetBacklog: 10 } });
      expect(partial.setAutoscale).toMatchObject({ enabled: true, min: 1, max: 3, targetBacklog: 10, scaleDownDelayMs: 2000 });
    } finally {
      await t.stop();
    }

    // An invalid environment stops the start.
    const dir = tempDir();
    dirs.push(dir);
    const start = startApp({ ...ENV, JOBLINE_AUTOSCALE_MIN: '5' }, dir, { clock: new ManualClock(), keepDir: true });
    await expect(start).rejects.toBeInstanceOf(ConfigError);
    await expect(start).rejects.toThrow(/min \(5\) must not exceed max \(3\)/);
  });
});
