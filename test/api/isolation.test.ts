// A user sees and touches only its own jobs: on every query, mutation and stream.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { ADMIN_TOKEN, startApp, type TestApp } from '../helpers/app.ts';
import {
  codeOf,
  createUser,
  gql,
  nextCompletion,
  ok,
  primeCompletions,
  sseSubscribe,
  submit,
  wsClient,
  wsSubscribe,
  type TestUser,
} from '../helpers/client.ts';

describe('isolation between users', () => {
  let t: TestApp;
  let alice: TestUser;
  let mallory: TestUser;
  let aliceWs: Client;
  let malloryWs: Client;

  beforeAll(async () => {
    // No processors: jobs stay queued, so every state is stable while we probe.
    t = await startApp({ JOBLINE_PROCESSORS: '0' });
    alice = await createUser(t.url, 'alice');
    mallory = await createUser(t.url, 'mallory');
    aliceWs = wsClient(t.url, alice.token);
    malloryWs = wsClient(t.url, mallory.token);
    await submit(t.url, alice.token, { jobId: 'secret', durationMs: 50, payload: { card: '4111' } });
  });
  afterAll(async () => {
    await aliceWs.dispose();
    await malloryWs.dispose();
    await t.stop();
  });

  it('hides another user\u2019s job from job() and jobs()', async () => {
    expect((await ok(t.url, mallory.token, `{ job(jobId: "secret") { id } }`)).job).toBeNull();
    expect((await ok(t.url, mallory.token, `{ job(jobId: "secret", userId: "${alice.id}") { id } }`)).job).toBeNull();
    const list = await ok(t.url, mallory.token, `{ jobs(first: 100) { edges { node { jobId user { id } } } } }`);
    expect(list.jobs.edges).toEqual([]);
    const other = await gql(t.url, mallory.token, `{ jobs(filter: { userId: "${alice.id}" }) { edges { node { id } } } }`);
    expect(codeOf(other)).toBe('FORBIDDEN');
    // The owner and the admin do see it.
    expect((await ok(t.url, alice.token, `{ job(jobId: "secret") { payload } }`)).job.payload).toEqual({ card: '4111' });
    const admin = await ok(t.url, ADMIN_TOKEN, `{ job(jobId: "secret", userId: "${alice.id}") { jobId } }`);
    expect(admin.job.jobId).toBe('secret');
  });

  it('refuses mutations on another user\u2019s jobs', async () => {
    const cancel = await gql(t.url, mallory.token, `mutation { cancelJob(jobId: "secret", userId: "${alice.id}") { state } }`);
    expect(codeOf(cancel)).toBe('FORBIDDEN');
    const ownNamespace = await gql(t.url, mallory.token, `mutation { cancelJob(jobId: "secret") { state } }`);
    expect(codeOf(ownNamespace)).toBe('NOT_FOUND');
    const forOther = await gql(
      t.url,
      mallory.token,
      `mutation { submitJob(input: { jobId: "x", durationMs: 1, userId: "${alice.id}" }) { id } }`,
    );
    expect(codeOf(forOther)).toBe('FORBIDDEN');
    const state = await ok(t.url, alice.token, `{ job(jobId: "secret") { state } }`);
    expect(state.job.state).toBe('QUEUED');
  });

  it('shows a user only its own row of queue statistics', async () => {
    await submit(t.url, mallory.token, { jobId: 'mine', durationMs: 10 });
    const seen = await ok(t.url, mallory.token, `{ queueState { queuedCount users { user { id } queued } } }`);
    expect(seen.queueState.queuedCount).toBe(2);
    expect(seen.queueState.users).toEqual([{ user: { id: mallory.id }, queued: 1 }]);
    const admin = await ok(t.url, ADMIN_TOKEN, `{ queueState { users { user { id } queued } } }`);
    expect(admin.queueState.users.map((u: any) => u.user.id).sort()).toEqual([alice.id, mallory.id].sort());
  });

  it('refuses to stream another user\u2019s job progress, over WebSocket and SSE', async () => {
    const ws = wsSubscribe(malloryWs, `subscription { jobProgress(jobId: "secret", userId: "${alice.id}") { state } }`);
    const wsFirst = await ws.next();
    expect(wsFirst.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const ws2 = wsSubscribe(malloryWs, `subscription { jobProgress(jobId: "secret") { state } }`);
    expect((await ws2.next()).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    const sse = sseSubscribe(t.url, mallory.token, `subscription { jobProgress(jobId: "secret", userId: "${alice.id}") { state } }`);
    expect((await sse.next()).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    sse.close();
  });

  it('never delivers another user\u2019s jobs on myQueue or jobCompleted', async () => {
    const queue = wsSubscribe<{ myQueue: any }>(malloryWs, `subscription { myQueue { queued { jobId user { id } } running { jobId } } }`);
    const completed = wsSubscribe<{ jobCompleted: { jobId: string; user: { id: string } } }>(
      malloryWs,
      `subscription { jobCompleted { jobId user { id } } }`,
    );
    const first = (await queue.next()).data!.myQueue;
    expect(first.queued.map((j: any) => j.jobId)).toEqual(['mine']);

    // Now run everything: alice's jobs finish too, and mallory must hear only of her own.
    await ok(t.url, ADMIN_TOKEN, `mutation { addProcessors(count: 2) { id } }`);
    await primeCompletions(t.url, mallory.token, completed);
    await submit(t.url, alice.token, { jobId: 'alice-2', durationMs: 0 });
    await submit(t.url, mallory.token, { jobId: 'mine-2', durationMs: 0 });
    const seen = [await nextCompletion(completed)];
    if (seen[0]!.jobId !== 'mine-2') seen.push(await nextCompletion(completed));
    expect(seen.map((e) => e.jobId).sort()).toEqual(seen[0]!.jobId === 'mine-2' ? ['mine-2'] : ['mine', 'mine-2']);
    for (const event of [...seen, ...completed.buffered.map((m) => m.data!.jobCompleted)]) {
      expect(event.user.id).toBe(mallory.id);
    }
    // Every snapshot so far held only mallory's jobs.
    const snapshots = await queue.collect((m) => m.data!.myQueue.queued.length === 0);
    for (const s of snapshots) for (const j of s.data!.myQueue.queued) expect(j.user.id).toBe(mallory.id);
    queue.unsubscribe();
    completed.unsubscribe();
  });

  it('rejects missing and invalid tokens on every transport', async () => {
    expect(codeOf(await gql(t.url, undefined, `{ me { id } }`))).toBe('UNAUTHENTICATED');
    expect(codeOf(await gql(t.url, 'jl_not-a-real-token', `{ jobs { edges { node { id } } } }`))).toBe('UNAUTHENTICATED');
    const anonymous = wsClient(t.url, 'jl_nope');
    const stream = wsSubscribe(anonymous, `subscription { jobCompleted { id } }`);
    expect((await stream.next()).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    await anonymous.dispose();
    const sse = sseSubscribe(t.url, undefined, `subscription { myQueue { at } }`);
    expect((await sse.next()).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    sse.close();
  });

  it('keeps admin-only operations from users', async () => {
    for (const op of [
      `{ users { id } }`,
      `mutation { createUser(input: { name: "eve" }) { token } }`,
      `mutation { addProcessors(count: 1) { id } }`,
      `mutation { removeProcessor(id: "x") { id } }`,
    ]) {
      expect(codeOf(await gql(t.url, alice.token, op))).toBe('FORBIDDEN');
    }
  });

  it('shows processors to a user without the other users\u2019 jobs they run', async () => {
    // Runs last: earlier tests added processors.
    await submit(t.url, alice.token, { jobId: 'busy', durationMs: 600_000 });
    const ws = wsSubscribe<{ jobProgress: { state: string } }>(aliceWs, `subscription { jobProgress(jobId: "busy") { state } }`);
    await ws.collect((m) => m.data!.jobProgress.state === 'RUNNING');
    ws.unsubscribe();
    const query = `{ queueState { processors { state currentJob { jobId } } } }`;
    const asMallory = (await ok(t.url, mallory.token, query)).queueState.processors;
    expect(asMallory.some((p: any) => p.state === 'BUSY')).toBe(true);
    expect(asMallory.every((p: any) => p.currentJob === null)).toBe(true);
    const asAlice = (await ok(t.url, alice.token, query)).queueState.processors;
    expect(asAlice.map((p: any) => p.currentJob?.jobId)).toContain('busy');
    await ok(t.url, alice.token, `mutation { cancelJob(jobId: "busy") { state } }`);
  });
});
