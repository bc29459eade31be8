// Operators add and remove processors while work runs; nothing is lost.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { ADMIN_TOKEN, startApp, type TestApp } from '../helpers/app.ts';
import { createUser, notProbe, ok, primeCompletions, submit, wsClient, wsSubscribe, type TestUser } from '../helpers/client.ts';

type Progress = { jobProgress: { state: string; elapsedMs: number | null; job: { processor: { id: string } | null } } };
const PROGRESS = `subscription ($jobId: String!) { jobProgress(jobId: $jobId) { state elapsedMs job { processor { id } } } }`;
const PROCESSORS = `{ queueState { processors { id name state currentJob { jobId } } } }`;

describe('processor management', () => {
  let t: TestApp;
  let user: TestUser;
  let ws: Client;

  beforeAll(async () => {
    t = await startApp({ JOBLINE_PROCESSORS: '1' });
    user = await createUser(t.url, 'frank');
    ws = wsClient(t.url, user.token);
  });
  afterAll(async () => {
    await ws.dispose();
    await t.stop();
  });

  async function runningOn(jobId: string): Promise<string> {
    const stream = wsSubscribe<Progress>(ws, PROGRESS, { jobId });
    try {
      for (;;) {
        const event = (await stream.next()).data!.jobProgress;
        if (event.state === 'RUNNING' && event.job.processor) return event.job.processor.id;
      }
    } finally {
      stream.unsubscribe();
    }
  }

  it('drains a busy processor: it keeps its job, takes no new one, then goes OFFLINE and leaves the pool', async () => {
    await submit(t.url, user.token, { jobId: 'drain-me', durationMs: 600_000 });
    const processorId = await runningOn('drain-me');
    const removed = await ok(t.url, ADMIN_TOKEN, `mutation { removeProcessor(id: "${processorId}") { id state } }`);
    expect(removed.removeProcessor.state).toBe('DRAINING');
    const during = await ok(t.url, ADMIN_TOKEN, PROCESSORS);
    expect(during.queueState.processors).toEqual([
      expect.objectContaining({ id: processorId, state: 'DRAINING', currentJob: { jobId: 'drain-me' } }),
    ]);
    // A job submitted now must wait: the draining processor takes no new work.
    await submit(t.url, user.token, { jobId: 'waits', durationMs: 10 });

    // Its job ends (here: cancelled), and the processor leaves instead of taking 'waits'.
    const stream = wsSubscribe<Progress>(ws, PROGRESS, { jobId: 'drain-me' });
    await stream.next();
    await ok(t.url, user.token, `mutation { cancelJob(jobId: "drain-me") { state } }`);
    await stream.collect((m) => m.data!.jobProgress.state === 'CANCELLED');
    const after = await ok(t.url, ADMIN_TOKEN, PROCESSORS);
    expect(after.queueState.processors).toEqual([]);
    const waiting = await ok(t.url, user.token, `{ job(jobId: "waits") { state queuePosition } }`);
    expect(waiting.job).toEqual({ state: 'QUEUED', queuePosition: 1 });
  });

  it('adds processors that start queued work at once', async () => {
    const added = await ok(t.url, ADMIN_TOKEN, `mutation { addProcessors(count: 2) { id name kind state } }`);
    expect(added.addProcessors).toHaveLength(2);
    expect(added.addProcessors.every((p: any) => p.kind === 'BUILTIN')).toBe(true);
    const stream = wsSubscribe<Progress>(ws, PROGRESS, { jobId: 'waits' });
    await stream.collect((m) => m.data!.jobProgress.state === 'SUCCEEDED');
    const names = (await ok(t.url, ADMIN_TOKEN, PROCESSORS)).queueState.processors.map((p: any) => p.name);
    expect(new Set(names).size).toBe(2);
  });

  it('removes a busy processor without draining: its job goes back in line with its work and finishes elsewhere', async () => {
    await submit(t.url, user.token, { jobId: 'moved', durationMs: 800 });
    const processorId = await runningOn('moved');
    const firstStart = (await ok(t.url, user.token, `{ job(jobId: "moved") { startedAt } }`)).job.startedAt;
    expect(firstStart).not.toBeNull();
    // Keep the other processor busy so the moved job is seen waiting.
    await submit(t.url, user.token, { jobId: 'occupy', durationMs: 300 });
    const stream = wsSubscribe<Progress>(ws, PROGRESS, { jobId: 'moved' });
    await stream.collect((m) => (m.data!.jobProgress.elapsedMs ?? 0) >= 100);
    const removed = await ok(t.url, ADMIN_TOKEN, `mutation { removeProcessor(id: "${processorId}", drain: false) { state removedAt } }`);
    expect(removed.removeProcessor.state).toBe('OFFLINE');
    expect(removed.removeProcessor.removedAt).not.toBeNull();

    const events = await stream.collect((m) => m.data!.jobProgress.state === 'SUCCEEDED');
    const states = events.map((m) => m.data!.jobProgress.state);
    expect(states).toContain('QUEUED');
    const final = await ok(t.url, user.token, `{ job(jobId: "moved") { state attempts runMs startedAt processor { id } } }`);
    // Resumed, not restarted: the attempt's start time is the one from before the move.
    expect(final.job.startedAt).toBe(firstStart);
    expect(final.job.state).toBe('SUCCEEDED');
    expect(final.job.attempts).toBe(1);
    expect(final.job.processor.id).not.toBe(processorId);
    expect(final.job.runMs).toBeGreaterThanOrEqual(799);
    const pool = (await ok(t.url, ADMIN_TOKEN, PROCESSORS)).queueState.processors;
    expect(pool).toHaveLength(1);
  });
});

describe('processor management under load', () => {
  let t: TestApp;
  let user: TestUser;
  let ws: Client;

  beforeAll(async () => {
    t = await startApp({ JOBLINE_PROCESSORS: '2' });
    user = await createUser(t.url, 'grace');
    ws = wsClient(t.url, user.token);
  });
  afterAll(async () => {
    await ws.dispose();
    await t.stop();
  });

  it('loses nothing while processors are added and removed, drained or not, mid-stream', async () => {
    const completions = wsSubscribe<{ jobCompleted: { jobId: string; state: string } }>(
      ws,
      `subscription { jobCompleted { jobId state } }`,
    );
    await primeCompletions(t.url, user.token, completions);
    const total = 150;
    const batch = Array.from({ length: total }, (_, i) => ({ jobId: `load-${i}`, durationMs: 5 + (i % 4) * 5 }));
    await ok(t.url, user.token, `mutation ($jobs: [SubmitJobInput!]!) { submitJobs(input: $jobs) { id } }`, { jobs: batch });

    // Churn the pool while the work drains: add, drain one, cut one off mid-job, add again.
    const seen = new Map<string, number>();
    const churn = [
      () => ok(t.url, ADMIN_TOKEN, `mutation { addProcessors(count: 3) { id } }`),
      async () => {
        const pool = (await ok(t.url, ADMIN_TOKEN, PROCESSORS)).queueState.processors;
        return ok(t.url, ADMIN_TOKEN, `mutation { removeProcessor(id: "${pool[0].id}") { state } }`);
      },
      async () => {
        const pool = (await ok(t.url, ADMIN_TOKEN, PROCESSORS)).queueState.processors;
        const busy = pool.find((p: any) => p.state === 'BUSY') ?? pool[pool.length - 1];
        return ok(t.url, ADMIN_TOKEN, `mutation { removeProcessor(id: "${busy.id}", drain: false) { state } }`);
      },
      () => ok(t.url, ADMIN_TOKEN, `mutation { addProcessors(count: 1) { id } }`),
    ];
    let step = 0;
    while (seen.size < total) {
      const event = (await completions.next()).data!.jobCompleted;
      if (!notProbe(event.jobId)) continue;
      expect(event.state).toBe('SUCCEEDED');
      seen.set(event.jobId, (seen.get(event.jobId) ?? 0) + 1);
      if (seen.size % 30 === 0 && step < churn.length) await churn[step++]!();
    }
    completions.unsubscribe();
    expect(step).toBe(churn.length);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);

    const state = (await ok(t.url, ADMIN_TOKEN, `{ queueState { queuedCount runningCount processors { state } } }`)).queueState;
    expect(state.queuedCount).toBe(0);
    expect(state.runningCount).toBe(0);
    // 2 + 3 − 1 (drained) − 1 (cut off) + 1 = 4 processors, none left draining.
    expect(state.processors).toHaveLength(4);
    expect(state.processors.every((p: any) => p.state === 'IDLE')).toBe(true);
  });
});
