// The whole job path on the embedded default: submit → progress → completion, over real
// HTTP and a real graphql-ws connection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { startApp, type TestApp } from '../helpers/app.ts';
import {
  createUser,
  nextCompletion,
  ok,
  primeCompletions,
  submit,
  wsClient,
  wsSubscribe,
  type TestUser,
} from '../helpers/client.ts';

const PROGRESS = `subscription ($jobId: String!) {
  jobProgress(jobId: $jobId) { state elapsedMs progress queuePosition at job { jobId runMs waitMs attempts } }
}`;

type Progress = {
  jobProgress: {
    state: string;
    elapsedMs: number | null;
    progress: number | null;
    queuePosition: number | null;
    at: string;
    job: { jobId: string; runMs: number; waitMs: number | null; attempts: number };
  };
};

describe('job lifecycle with one processor', () => {
  let t: TestApp;
  let alice: TestUser;
  let ws: Client;

  beforeAll(async () => {
    t = await startApp({ JOBLINE_PROCESSORS: '1' });
    alice = await createUser(t.url, 'alice');
    ws = wsClient(t.url, alice.token);
  });
  afterAll(async () => {
    await ws.dispose();
    await t.stop();
  });

  it('streams progress from QUEUED through RUNNING to SUCCEEDED, then ends', async () => {
    // A long first job keeps the processor busy, so the watched job is seen waiting in line.
    await submit(t.url, alice.token, { jobId: 'blocker', durationMs: 600 });
    await submit(t.url, alice.token, { jobId: 'watched', durationMs: 500 });
    const stream = wsSubscribe<Progress>(ws, PROGRESS, { jobId: 'watched' });
    const first = (await stream.next()).data!.jobProgress;
    expect(['QUEUED', 'RUNNING']).toContain(first.state);

    const events = [first, ...(await stream.collect((m) => m.data?.jobProgress.state === 'SUCCEEDED')).map((m) => m.data!.jobProgress)];
    await stream.done();

    const states = events.map((e) => e.state);
    expect(states.at(-1)).toBe('SUCCEEDED');
    expect(states.indexOf('RUNNING')).toBeGreaterThanOrEqual(0);
    // States only move forward.
    const order = ['QUEUED', 'RUNNING', 'SUCCEEDED'];
    for (let i = 1; i < states.length; i++) expect(order.indexOf(states[i]!)).toBeGreaterThanOrEqual(order.indexOf(states[i - 1]!));

    const queued = events.filter((e) => e.state === 'QUEUED');
    if (queued.length > 0) expect(queued[0]!.queuePosition).toBe(1);
    const running = events.filter((e) => e.state === 'RUNNING');
    expect(running.length).toBeGreaterThanOrEqual(1);
    for (const e of running) {
      expect(e.elapsedMs).toBeGreaterThanOrEqual(0);
      expect(e.elapsedMs).toBeLessThanOrEqual(500);
      expect(e.progress).toBeCloseTo(e.elapsedMs! / 500, 5);
    }
    const done = events.at(-1)!;
    expect(done.progress).toBe(1);
    expect(done.job.attempts).toBe(1);
    expect(done.job.runMs).toBeGreaterThanOrEqual(495);
    // It waited at least for most of the blocker.
    expect(done.job.waitMs).toBeGreaterThan(0);
  });

  it('ticks while a job runs, and a cancelled running job ends its stream', async () => {
    await submit(t.url, alice.token, { jobId: 'long', durationMs: 600_000 });
    const stream = wsSubscribe<Progress>(ws, PROGRESS, { jobId: 'long' });
    const running: Progress['jobProgress'][] = [];
    while (running.length < 3) {
      const event = (await stream.next()).data!.jobProgress;
      if (event.state === 'RUNNING') running.push(event);
    }
    for (let i = 1; i < running.length; i++) {
      expect(Date.parse(running[i]!.at)).toBeGreaterThan(Date.parse(running[i - 1]!.at));
      expect(running[i]!.elapsedMs!).toBeGreaterThanOrEqual(running[i - 1]!.elapsedMs!);
    }
    const cancelled = await ok(t.url, alice.token, `mutation { cancelJob(jobId: "long") { state runMs finishedAt processor { state } } }`);
    expect(cancelled.cancelJob.state).toBe('CANCELLED');
    expect(cancelled.cancelJob.runMs).toBeGreaterThanOrEqual(running.at(-1)!.elapsedMs!);
    const rest = await stream.collect((m) => m.data?.jobProgress.state === 'CANCELLED');
    expect(rest.at(-1)!.data!.jobProgress.state).toBe('CANCELLED');
    await stream.done();
    // Cancelling again is idempotent; the processor is free for the next job.
    expect((await ok(t.url, alice.token, `mutation { cancelJob(jobId: "long") { state } }`)).cancelJob.state).toBe('CANCELLED');
  });

  it('records wait and run times consistent with the timestamps', async () => {
    const job = await submit(t.url, alice.token, { jobId: 'timed', durationMs: 300 });
    const stream = wsSubscribe<Progress>(ws, PROGRESS, { jobId: job.jobId });
    await stream.collect((m) => m.data?.jobProgress.state === 'SUCCEEDED');
    const { job: row } = await ok(t.url, alice.token, `{ job(jobId: "timed") {
      state submittedAt startedAt finishedAt waitMs runMs elapsedMs progress queuePosition } }`);
    expect(row.state).toBe('SUCCEEDED');
    const submitted = Date.parse(row.submittedAt);
    const started = Date.parse(row.startedAt);
    const finished = Date.parse(row.finishedAt);
    expect(row.waitMs).toBe(started - submitted);
    expect(finished - started).toBeGreaterThanOrEqual(299);
    expect(row.runMs).toBeGreaterThanOrEqual(299);
    expect(Math.abs(row.runMs - (finished - started))).toBeLessThanOrEqual(2);
    expect(row.elapsedMs).toBeNull();
    expect(row.queuePosition).toBeNull();
    expect(row.progress).toBe(1);
  });

  it('starts jobs in submission order and notifies the owner of each completion', async () => {
    const completed = wsSubscribe<{ jobCompleted: { jobId: string; state: string } }>(
      ws,
      'subscription { jobCompleted { jobId state } }',
    );
    await primeCompletions(t.url, alice.token, completed);

    const ids = Array.from({ length: 8 }, (_, i) => `fifo-${i}`);
    await ok(t.url, alice.token, `mutation ($input: [SubmitJobInput!]!) { submitJobs(input: $input) { id } }`, {
      input: ids.slice(0, 4).map((jobId) => ({ jobId, durationMs: 20 })),
    });
    for (const jobId of ids.slice(4)) await submit(t.url, alice.token, { jobId, durationMs: 20 });

    const seen: string[] = [];
    while (seen.length < ids.length) {
      const event = await nextCompletion(completed);
      expect(event.state).toBe('SUCCEEDED');
      seen.push(event.jobId);
    }
    expect(seen).toEqual(ids);
    completed.unsubscribe();

    const { jobs } = await ok(t.url, alice.token, `{ jobs(first: 100, filter: { state: SUCCEEDED }) { edges { node { jobId startedAt } } } }`);
    const starts = (jobs.edges as Array<{ node: { jobId: string; startedAt: string } }>)
      .filter((e) => ids.includes(e.node.jobId))
      .map((e) => e.node);
    const byStart = [...starts].sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
    expect(byStart.map((n) => n.jobId)).toEqual(ids);
  });

  it('streams the caller\u2019s queue with positions and running time', async () => {
    await submit(t.url, alice.token, { jobId: 'q-run', durationMs: 800 });
    await submit(t.url, alice.token, { jobId: 'q-wait-1', durationMs: 10 });
    await submit(t.url, alice.token, { jobId: 'q-wait-2', durationMs: 10 });
    const stream = wsSubscribe<{ myQueue: any }>(
      ws,
      `subscription { myQueue { at queuedCount queued { jobId queuePosition } running { jobId elapsedMs } } }`,
    );
    // Wait for a snapshot that shows q-run running and both others queued behind it.
    const snapshots = await stream.collect((m) => {
      const s = m.data?.myQueue;
      return s?.running.some((j: any) => j.jobId === 'q-run' && j.elapsedMs > 0) && s.queued.length === 2;
    });
    const last = snapshots.at(-1)!.data!.myQueue;
    expect(last.queued.map((j: any) => [j.jobId, j.queuePosition])).toEqual([
      ['q-wait-1', 1],
      ['q-wait-2', 2],
    ]);
    expect(last.queuedCount).toBe(2);
    // Keeps coming while idle: the next snapshot arrives by itself (interval 100 ms).
    const next = (await stream.next()).data!.myQueue;
    expect(Date.parse(next.at)).toBeGreaterThanOrEqual(Date.parse(last.at));
    // Eventually the queue empties.
    await stream.collect((m) => m.data?.myQueue.queued.length === 0 && m.data.myQueue.running.length === 0);
    stream.unsubscribe();
  });
});

describe('several processors', () => {
  let t: TestApp;
  let bob: TestUser;

  beforeAll(async () => {
    t = await startApp({ JOBLINE_PROCESSORS: '3' });
    bob = await createUser(t.url, 'bob');
  });
  afterAll(() => t.stop());

  it('never runs more jobs at once than there are processors, and uses them all', async () => {
    const ws = wsClient(t.url, bob.token);
    const completed = wsSubscribe<{ jobCompleted: { jobId: string } }>(ws, 'subscription { jobCompleted { jobId } }');
    await primeCompletions(t.url, bob.token, completed);
    const input = Array.from({ length: 12 }, (_, i) => ({ jobId: `par-${i}`, durationMs: 150 }));
    await ok(t.url, bob.token, `mutation ($input: [SubmitJobInput!]!) { submitJobs(input: $input) { id } }`, { input });
    for (let i = 0; i < input.length; i++) await nextCompletion(completed);
    await ws.dispose();

    const { jobs } = await ok(t.url, bob.token, `{ jobs(first: 100) { edges { node { jobId startedAt finishedAt processor { id } } } } }`);
    const runs = (jobs.edges as any[]).map((e) => e.node).filter((n) => n.jobId.startsWith('par-'));
    expect(runs).toHaveLength(12);
    const points = runs.flatMap((r) => [
      { t: Date.parse(r.startedAt), d: 1 },
      { t: Date.parse(r.finishedAt), d: -1 },
    ]);
    points.sort((a, b) => a.t - b.t || a.d - b.d); // ends before starts at the same instant
    let running = 0;
    let peak = 0;
    for (const p of points) peak = Math.max(peak, (running += p.d));
    expect(peak).toBeLessThanOrEqual(3);
    expect(peak).toBe(3);
    // One processor never overlaps itself.
    const byProcessor = new Map<string, any[]>();
    for (const r of runs) byProcessor.set(r.processor.id, [...(byProcessor.get(r.processor.id) ?? []), r]);
    expect(byProcessor.size).toBe(3);
    for (const list of byProcessor.values()) {
      list.sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
      for (let i = 1; i < list.length; i++) {
        expect(Date.parse(list[i].startedAt)).toBeGreaterThanOrEqual(Date.parse(list[i - 1].finishedAt));
      }
    }
    const { queueState } = await ok(t.url, bob.token, `{ queueState { processors { jobsCompleted busyMs state } } }`);
    const total = (queueState.processors as any[]).reduce((sum, p) => sum + p.jobsCompleted, 0);
    const { jobs: all } = await ok(t.url, bob.token, `{ jobs(first: 100, filter: { state: SUCCEEDED }) { edges { node { id } } } }`);
    expect(total).toBe(all.edges.length);
  });
});
