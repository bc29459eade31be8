// Remote processors over real HTTP: register, long-poll claims, heartbeats, completion,
// failures with backoff into the dead-letter queue, lease expiry and fencing.
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startApp, tempDir, type TestApp } from '../helpers/app.ts';
import { ManualClock } from '../helpers/manual-clock.ts';
import { codeOf, createUser, gql, ok, submit, wsClient, wsSubscribe, type TestUser } from '../helpers/client.ts';

const LEASE = `id attempt expiresAt progress job { id jobId state attempts payload user { id } } processor { id name }`;
const CLAIM = `mutation ($p: ID!, $w: Int) { claimJob(processorId: $p, waitMs: $w) { ${LEASE} } }`;
const HEARTBEAT = `mutation ($l: ID!, $p: Float) { heartbeat(leaseId: $l, progress: $p) { ${LEASE} } }`;
const COMPLETE = `mutation ($l: ID!, $r: JSON) { completeJob(leaseId: $l, result: $r) { jobId state result attempts runMs } }`;
const FAIL = `mutation ($l: ID!, $e: String!, $r: Boolean) { failJob(leaseId: $l, error: $e, retryable: $r) { jobId state error attempts retryAt finishedAt } }`;
const JOB = `query ($id: String!) { job(jobId: $id) { jobId state attempts error retryAt progress elapsedMs result processor { id } } }`;

type Lease = {
  id: string;
  attempt: number;
  expiresAt: string;
  progress: number;
  job: { id: string; jobId: string; state: string; attempts: number; payload: unknown; user: { id: string } };
  processor: { id: string; name: string };
};

async function register(url: string, token: string, name: string): Promise<string> {
  const data = await ok(url, token, `mutation ($n: String!) { registerProcessor(name: $n) { id kind state } }`, { n: name });
  expect(data.registerProcessor.kind).toBe('REMOTE');
  return data.registerProcessor.id as string;
}

async function claim(url: string, token: string, processorId: string, waitMs = 0): Promise<Lease | null> {
  return (await ok<{ claimJob: Lease | null }>(url, token, CLAIM, { p: processorId, w: waitMs })).claimJob;
}

/** Polls until `check` passes on the job, or fails after `ms`. */
async function until<T>(read: () => Promise<T>, check: (value: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met in ${ms} ms; last value ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('remote processors', () => {
  let t: TestApp;
  let user: TestUser;
  let worker: TestUser;
  let otherWorker: TestUser;

  beforeAll(async () => {
    t = await startApp({
      JOBLINE_PROCESSORS: '0',
      JOBLINE_LEASE_MS: '60000', // expiry is tested on a manual clock below
      JOBLINE_RETRY_BASE_MS: '20',
      JOBLINE_RETRY_MAX_MS: '60',
      JOBLINE_RATE_LIMIT: '0',
    });
    user = await createUser(t.url, 'owner');
    worker = await createUser(t.url, 'worker', { role: 'PROCESSOR' });
    otherWorker = await createUser(t.url, 'other-worker', { role: 'PROCESSOR' });
  });
  afterAll(() => t.stop());

  const job = async (jobId: string) => (await ok(t.url, user.token, JOB, { id: jobId })).job;

  it('a waiting long poll gets the job the moment it is submitted; heartbeats carry progress; completion is recorded once', async () => {
    const processorId = await register(t.url, worker.token, 'w-1');
    // Waits up to 20 s: a lease back means it was handed over during the poll.
    const waiting = claim(t.url, worker.token, processorId, 20_000);
    await submit(t.url, user.token, { jobId: 'remote-1', durationMs: 5000, payload: { n: 1 } });
    const lease = (await waiting)!;
    expect(lease).toMatchObject({ attempt: 1, progress: 0, processor: { id: processorId, name: 'w-1' } });
    expect(lease.job).toMatchObject({ jobId: 'remote-1', state: 'RUNNING', attempts: 1, payload: { n: 1 }, user: { id: user.id } });
    expect(Date.parse(lease.expiresAt)).toBeGreaterThan(Date.now());

    // The owner sees the processor's progress, live on jobProgress too.
    const ws = wsClient(t.url, user.token);
    const stream = wsSubscribe<{ jobProgress: { state: string; progress: number } }>(
      ws,
      `subscription { jobProgress(jobId: "remote-1") { state progress } }`,
    );
    const beat = (await ok(t.url, worker.token, HEARTBEAT, { l: lease.id, p: 0.5 })).heartbeat as Lease;
    expect(beat.progress).toBe(0.5);
    expect(Date.parse(beat.expiresAt)).toBeGreaterThanOrEqual(Date.parse(lease.expiresAt));
    expect((await job('remote-1')).progress).toBe(0.5);
    for (;;) {
      const event = (await stream.next()).data!.jobProgress;
      if (event.progress === 0.5) break;
    }
    stream.unsubscribe();
    await ws.dispose();

    const done = (await ok(t.url, worker.token, COMPLETE, { l: lease.id, r: { answer: 42 } })).completeJob;
    expect(done).toMatchObject({ jobId: 'remote-1', state: 'SUCCEEDED', result: { answer: 42 }, attempts: 1 });
    // A repeated completion (its answer lost on the way) gets the same job back.
    expect((await ok(t.url, worker.token, COMPLETE, { l: lease.id, r: { answer: 42 } })).completeJob.state).toBe('SUCCEEDED');
    // Any other report on the finished lease is refused.
    expect(codeOf(await gql(t.url, worker.token, HEARTBEAT, { l: lease.id }))).toBe('CONFLICT');
    expect(codeOf(await gql(t.url, worker.token, FAIL, { l: lease.id, e: 'late' }))).toBe('CONFLICT');
    expect(await job('remote-1')).toMatchObject({ state: 'SUCCEEDED', result: { answer: 42 }, processor: { id: processorId } });
  });

  it('a claim with nothing to do returns null after waitMs; an aborted poll is never handed a job', async () => {
    const processorId = await register(t.url, worker.token, 'w-2');
    expect(await claim(t.url, worker.token, processorId, 50)).toBeNull();

    const abort = new AbortController();
    const abandoned = fetch(t.url, {
      method: 'POST',
      signal: abort.signal,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${worker.token}` },
      body: JSON.stringify({ query: CLAIM, variables: { p: processorId, w: 30_000 } }),
    }).catch(() => undefined);
    // Give the server a moment to hold the poll, then the client goes away. (Were the
    // moment too short, the poll would never have existed: the test still holds.)
    await new Promise((resolve) => setTimeout(resolve, 100));
    abort.abort();
    await abandoned;
    await new Promise((resolve) => setTimeout(resolve, 100));
    await submit(t.url, user.token, { jobId: 'after-abort', durationMs: 10 });
    // Had the abandoned poll taken it, this claim would find nothing.
    const lease = (await claim(t.url, worker.token, processorId, 5000))!;
    expect(lease.job.jobId).toBe('after-abort');
    expect(lease.attempt).toBe(1);
    await ok(t.url, worker.token, COMPLETE, { l: lease.id });
  });

  it('retryable failures walk the backoff schedule to DEAD; retryJob revives it; a permanent failure is FAILED', async () => {
    const processorId = await register(t.url, worker.token, 'w-fail');
    await submit(t.url, user.token, { jobId: 'doomed', durationMs: 10, maxAttempts: 3 });
    const retryDelays: number[] = []; // upper bounds of the delays drawn
    for (let attempt = 1; attempt <= 3; attempt++) {
      const lease = (await claim(t.url, worker.token, processorId, 5000))!;
      expect(lease.job.jobId).toBe('doomed');
      expect(lease.attempt).toBe(attempt);
      const sent = Date.now();
      const failed = (await ok(t.url, worker.token, FAIL, { l: lease.id, e: `boom ${attempt}` })).failJob;
      const answered = Date.now();
      expect(failed.error).toBe(`boom ${attempt}`);
      if (attempt < 3) {
        expect(failed).toMatchObject({ state: 'QUEUED', attempts: attempt, finishedAt: null });
        // A repeated report (its answer lost) is answered with the same job, not applied twice.
        const repeat = (await ok(t.url, worker.token, FAIL, { l: lease.id, e: `boom ${attempt}` })).failJob;
        expect(repeat).toMatchObject({ state: 'QUEUED', attempts: attempt, retryAt: failed.retryAt });
        expect(codeOf(await gql(t.url, worker.token, FAIL, { l: lease.id, e: 'another story' }))).toBe('CONFLICT');
        const retryAt = Date.parse(failed.retryAt);
        expect(retryAt).toBeGreaterThanOrEqual(sent);
        retryDelays.push(retryAt - answered); // at most the backoff drawn
      } else {
        expect(failed).toMatchObject({ state: 'DEAD', attempts: 3 });
        expect(failed.finishedAt).not.toBeNull();
      }
    }
    // Backoff with full jitter stays under its caps: base 20 ms, then 40 (the cap is 60).
    expect(retryDelays[0]).toBeLessThanOrEqual(20);
    expect(retryDelays[1]).toBeLessThanOrEqual(40);

    const dead = (await ok(t.url, user.token, `{ deadJobs { edges { node { jobId state error } } } }`)).deadJobs.edges;
    expect(dead.map((e: { node: { jobId: string } }) => e.node.jobId)).toEqual(['doomed']);
    expect(dead[0].node.error).toBe('boom 3');
    // Nobody else's dead-letter queue shows it.
    const stranger = await createUser(t.url, 'stranger');
    expect((await ok(t.url, stranger.token, `{ deadJobs { edges { node { jobId } } } }`)).deadJobs.edges).toEqual([]);
    expect(codeOf(await gql(t.url, stranger.token, `mutation { retryJob(jobId: "doomed", userId: "${user.id}") { state } }`))).toBe(
      'FORBIDDEN',
    );
    expect(codeOf(await gql(t.url, user.token, `mutation { retryJob(jobId: "nope") { state } }`))).toBe('NOT_FOUND');

    const revived = (await ok(t.url, user.token, `mutation { retryJob(jobId: "doomed") { state attempts error } }`)).retryJob;
    expect(revived).toMatchObject({ state: 'QUEUED', attempts: 3, error: 'boom 3' });
    expect(codeOf(await gql(t.url, user.token, `mutation { retryJob(jobId: "doomed") { state } }`))).toBe('CONFLICT');
    // Fresh attempts: three more before it is DEAD again, with attempt numbers still going up.
    for (const attempt of [4, 5]) {
      const lease = (await claim(t.url, worker.token, processorId, 5000))!;
      expect(lease).toMatchObject({ attempt, job: { jobId: 'doomed' } });
      const failed = (await ok(t.url, worker.token, FAIL, { l: lease.id, e: 'again' })).failJob;
      const answered = Date.now();
      expect(failed.state).toBe('QUEUED');
      // The backoff starts over too: attempt 4 is the revived job's first failure (base 20 ms).
      if (attempt === 4) expect(Date.parse(failed.retryAt) - answered).toBeLessThanOrEqual(20);
    }
    const again = (await claim(t.url, worker.token, processorId, 5000))!;
    expect(again).toMatchObject({ attempt: 6, job: { jobId: 'doomed' } });

    const permanent = (await ok(t.url, worker.token, FAIL, { l: again.id, e: 'bad input', r: false })).failJob;
    expect(permanent).toMatchObject({ state: 'FAILED', error: 'bad input', attempts: 6 });
    // A FAILED job can be retried too.
    expect((await ok(t.url, user.token, `mutation { retryJob(jobId: "doomed") { state } }`)).retryJob.state).toBe('QUEUED');
    const last = (await claim(t.url, worker.token, processorId, 5000))!;
    expect(last.attempt).toBe(7);
    await ok(t.url, worker.token, COMPLETE, { l: last.id });
  });

  it('one lease per processor; cancelling a leased job ends the lease; removing a busy processor revokes it', async () => {
    const processorId = await register(t.url, worker.token, 'w-one');
    await submit(t.url, user.token, { jobId: 'one', durationMs: 10 });
    await submit(t.url, user.token, { jobId: 'two', durationMs: 10 });
    const lease = (await claim(t.url, worker.token, processorId, 5000))!;
    expect(codeOf(await gql(t.url, worker.token, CLAIM, { p: processorId, w: 0 }))).toBe('CONFLICT');

    const cancelled = (await ok(t.url, user.token, `mutation { cancelJob(jobId: "${lease.job.jobId}") { state } }`)).cancelJob;
    expect(cancelled.state).toBe('CANCELLED');
    expect(codeOf(await gql(t.url, worker.token, HEARTBEAT, { l: lease.id }))).toBe('CONFLICT');

    const next = (await claim(t.url, worker.token, processorId, 5000))!;
    const removed = (
      await ok(t.url, worker.token, `mutation { removeProcessor(id: "${processorId}", drain: false) { state removedAt } }`)
    ).removeProcessor;
    expect(removed.state).toBe('OFFLINE');
    expect(removed.removedAt).not.toBeNull();
    expect(codeOf(await gql(t.url, worker.token, COMPLETE, { l: next.id }))).toBe('CONFLICT');
    expect(codeOf(await gql(t.url, worker.token, CLAIM, { p: processorId }))).toBe('NOT_FOUND');
    const back = await job(next.job.jobId);
    expect(back.state).toBe('QUEUED');

    const fresh = await register(t.url, worker.token, 'w-two');
    const retaken = (await claim(t.url, worker.token, fresh, 5000))!;
    expect(retaken.job.jobId).toBe(next.job.jobId);
    expect(retaken.attempt).toBe(2);
    await ok(t.url, worker.token, COMPLETE, { l: retaken.id });
  });

  it('a long poll over graphql-ws ends when its socket closes: no job goes to it', async () => {
    const processorId = await register(t.url, worker.token, 'w-socket');
    const socket = wsClient(t.url, worker.token);
    const polling = wsSubscribe<{ claimJob: Lease | null }>(socket, CLAIM, { p: processorId, w: 60_000 });
    // Wait until the server holds the poll: the processor is then ready for a job.
    const metrics = async () => (await fetch(t.url.replace('/graphql', '/metrics'))).text();
    await until(metrics, (text) => /^jobline_claims_waiting 1$/m.test(text));
    await socket.dispose();
    await polling.next().catch(() => undefined);
    await until(metrics, (text) => /^jobline_claims_waiting 0$/m.test(text)); // the server saw the close
    await submit(t.url, user.token, { jobId: 'after-socket', durationMs: 10 });
    const lease = (await claim(t.url, worker.token, processorId, 5000))!;
    expect(lease).toMatchObject({ attempt: 1, job: { jobId: 'after-socket' } });
    await ok(t.url, worker.token, COMPLETE, { l: lease.id });
  });

  it('a poll replaced by one whose client already left leaves the processor not ready (no job goes to nobody)', async () => {
    const dispatcher = t.app.services.dispatcher;
    const processorId = await register(t.url, worker.token, 'w-replaced');
    const older = dispatcher.claim(processorId, 60_000);
    const gone = new AbortController();
    gone.abort();
    expect(await dispatcher.claim(processorId, 60_000, gone.signal)).toBeNull();
    expect(await older).toBeNull();
    await submit(t.url, user.token, { jobId: 'for-nobody', durationMs: 10 });
    expect((await job('for-nobody')).state).toBe('QUEUED');
    const lease = (await claim(t.url, worker.token, processorId, 5000))!;
    expect(lease).toMatchObject({ attempt: 1, job: { jobId: 'for-nobody' } });
    await ok(t.url, worker.token, COMPLETE, { l: lease.id });
  });

  it('a lease granted to a poll whose client leaves before it is durable goes back, its attempt not charged', async () => {
    const dispatcher = t.app.services.dispatcher;
    const processorId = await register(t.url, worker.token, 'w-leaving');
    const leaving = new AbortController();
    const poll = dispatcher.claim(processorId, 60_000, leaving.signal);
    // The submission starts the job on the waiting poll; its lease is being written when the client leaves.
    await dispatcher.submit(user.id, [{ jobId: 'handed-back', durationMs: 10, priority: null, payload: null, maxAttempts: 1 }]);
    leaving.abort();
    expect(await poll).toBeNull();
    const back = await until(() => job('handed-back'), (j) => j.state === 'QUEUED');
    expect(back.attempts).toBe(0);
    const lease = (await claim(t.url, worker.token, processorId, 5000))!;
    expect(lease).toMatchObject({ attempt: 1, job: { jobId: 'handed-back' } });
    await ok(t.url, worker.token, COMPLETE, { l: lease.id });
  });

  it('a built-in processor running a job that failed remotely holds no lease on it', async () => {
    const processorId = await register(t.url, worker.token, 'w-then-builtin');
    await submit(t.url, user.token, { jobId: 'mixed', durationMs: 60_000, maxAttempts: 3 });
    const lease = (await claim(t.url, worker.token, processorId, 5000))!;
    await ok(t.url, worker.token, FAIL, { l: lease.id, e: 'try elsewhere' });
    const [builtin] = (await ok(t.url, ADMIN_TOKEN, `mutation { addProcessors(count: 1) { id } }`)).addProcessors;
    const running = await until(() => job('mixed'), (j) => j.state === 'RUNNING');
    expect(running.processor.id).toBe(builtin.id);
    const db = new Database(t.dbFile, { readonly: true });
    try {
      expect(db.prepare('SELECT leaseId, attempts FROM Job WHERE jobId = ?').get('mixed')).toEqual({ leaseId: null, attempts: 2 });
    } finally {
      db.close();
    }
    // Its old lease stays fenced off.
    expect(codeOf(await gql(t.url, worker.token, COMPLETE, { l: lease.id }))).toBe('CONFLICT');
    await ok(t.url, ADMIN_TOKEN, `mutation { removeProcessor(id: "${builtin.id}", drain: false) { id } }`);
    await ok(t.url, user.token, `mutation { cancelJob(jobId: "mixed") { state } }`);
  });

  it('only PROCESSOR and ADMIN tokens use the API, and each only its own processors and leases', async () => {
    expect(codeOf(await gql(t.url, user.token, `mutation { registerProcessor(name: "x") { id } }`))).toBe('FORBIDDEN');
    expect(codeOf(await gql(t.url, undefined, `mutation { registerProcessor(name: "x") { id } }`))).toBe('UNAUTHENTICATED');
    expect(codeOf(await gql(t.url, worker.token, `mutation { registerProcessor(name: "   ") { id } }`))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(t.url, worker.token, `mutation { submitJob(input: { jobId: "x", durationMs: 1 }) { id } }`))).toBe(
      'FORBIDDEN',
    );

    const mine = await register(t.url, worker.token, 'w-mine');
    expect(codeOf(await gql(t.url, otherWorker.token, CLAIM, { p: mine, w: 0 }))).toBe('FORBIDDEN');
    expect(codeOf(await gql(t.url, otherWorker.token, `mutation { removeProcessor(id: "${mine}") { id } }`))).toBe('FORBIDDEN');
    expect(codeOf(await gql(t.url, worker.token, CLAIM, { p: mine, w: 600_001 }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(t.url, worker.token, CLAIM, { p: 'no-such', w: 0 }))).toBe('NOT_FOUND');
    expect(codeOf(await gql(t.url, worker.token, `mutation { removeProcessor(id: "no-such") { id } }`))).toBe('NOT_FOUND');

    await submit(t.url, user.token, { jobId: 'guarded', durationMs: 10 });
    const lease = (await claim(t.url, worker.token, mine, 5000))!;
    expect(codeOf(await gql(t.url, otherWorker.token, HEARTBEAT, { l: lease.id }))).toBe('FORBIDDEN');
    expect(codeOf(await gql(t.url, otherWorker.token, COMPLETE, { l: lease.id }))).toBe('FORBIDDEN');
    expect(codeOf(await gql(t.url, worker.token, HEARTBEAT, { l: lease.id, p: 1.5 }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(t.url, worker.token, FAIL, { l: lease.id, e: '' }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(t.url, worker.token, COMPLETE, { l: lease.id, r: 'x'.repeat(70_000) }))).toBe('BAD_USER_INPUT');
    // None of the refused reports changed anything.
    expect((await job('guarded')).state).toBe('RUNNING');
    // The same report twice at once (a client retrying before its first answer): both are
    // answered with the one completion, neither is refused.
    const [a, b] = await Promise.all([1, 2].map(() => gql(t.url, worker.token, COMPLETE, { l: lease.id, r: { n: 1 } })));
    expect([a.errors, b.errors]).toEqual([undefined, undefined]);
    expect(a.data!.completeJob).toEqual(b.data!.completeJob);
    expect(a.data!.completeJob).toMatchObject({ state: 'SUCCEEDED', result: { n: 1 } });
  });
});

describe('lease expiry (on a manual clock)', () => {
  const LEASE_MS = 1000;
  let t: TestApp;
  let clock: ManualClock;
  let user: TestUser;
  let worker: TestUser;

  beforeAll(async () => {
    clock = new ManualClock();
    t = await startApp(
      {
        JOBLINE_PROCESSORS: '0',
        JOBLINE_LEASE_MS: String(LEASE_MS),
        JOBLINE_RETRY_BASE_MS: '100',
        JOBLINE_RETRY_MAX_MS: '100',
        JOBLINE_RATE_LIMIT: '0',
      },
      undefined,
      { clock },
    );
    user = await createUser(t.url, 'owner');
    worker = await createUser(t.url, 'worker', { role: 'PROCESSOR' });
  });
  afterAll(() => t.stop());

  const job = async (jobId: string) => (await ok(t.url, user.token, JOB, { id: jobId })).job;
  const stateOf = async (processorId: string) =>
    (await ok(t.url, ADMIN_TOKEN, `{ queueState { processors { id state } } }`)).queueState.processors.find(
      (p: { id: string }) => p.id === processorId,
    )?.state as string | undefined;

  it('a lease not renewed expires: the job is retried on another processor and the late report is refused', async () => {
    const slow = await register(t.url, worker.token, 'w-slow');
    await submit(t.url, user.token, { jobId: 'expire-me', durationMs: 100, maxAttempts: 3 });
    const first = (await claim(t.url, worker.token, slow, 5000))!;
    expect(first.job.jobId).toBe('expire-me');

    // A heartbeat renews it: a lease length later it is still held.
    clock.advance(LEASE_MS - 1);
    await ok(t.url, worker.token, HEARTBEAT, { l: first.id, p: 0.3 });
    clock.advance(LEASE_MS - 1);
    expect((await job('expire-me')).state).toBe('RUNNING');

    // Then silence: the lease runs out, the job waits out its backoff, the processor is OFFLINE.
    clock.advance(1);
    const requeued = await until(() => job('expire-me'), (j) => j.state === 'QUEUED');
    expect(requeued.error).toMatch(/lease expired/);
    expect(Date.parse(requeued.retryAt)).toBeLessThanOrEqual(clock.now() + 100);
    expect(await stateOf(slow)).toBe('OFFLINE');
    // OFFLINE, not forgotten: that takes ten lease lengths of silence.
    clock.advance(5 * LEASE_MS);
    expect(await stateOf(slow)).toBe('OFFLINE');

    const fast = await register(t.url, worker.token, 'w-fast');
    const second = (await claim(t.url, worker.token, fast, 60_000))!; // the backoff is long over
    expect(second.job.jobId).toBe('expire-me');
    expect(second.attempt).toBe(2);

    // The first processor wakes up and reports: fenced off, nothing changes.
    expect(codeOf(await gql(t.url, worker.token, COMPLETE, { l: first.id, r: 'stale' }))).toBe('CONFLICT');
    expect(codeOf(await gql(t.url, worker.token, HEARTBEAT, { l: first.id }))).toBe('CONFLICT');
    expect((await job('expire-me')).state).toBe('RUNNING');
    // Calling again brings it back online.
    expect(await claim(t.url, worker.token, slow, 0)).toBeNull();
    expect(await stateOf(slow)).toBe('IDLE');

    const done = (await ok(t.url, worker.token, COMPLETE, { l: second.id, r: 'fresh' })).completeJob;
    expect(done).toMatchObject({ state: 'SUCCEEDED', result: 'fresh', attempts: 2 });
  });

  it('a lease that expires on the last attempt sends the job to DEAD', async () => {
    const processorId = await register(t.url, worker.token, 'w-last');
    await submit(t.url, user.token, { jobId: 'one-shot', durationMs: 100, maxAttempts: 1 });
    const lease = (await claim(t.url, worker.token, processorId, 5000))!;
    expect(lease.job.jobId).toBe('one-shot');
    clock.advance(LEASE_MS);
    const dead = await until(() => job('one-shot'), (j) => j.state === 'DEAD');
    expect(dead).toMatchObject({ attempts: 1, retryAt: null });
    expect(dead.error).toMatch(/lease expired/);
  });

  it('a silent idle processor goes OFFLINE after a lease length and is forgotten after ten more', async () => {
    const processorId = await register(t.url, worker.token, 'w-silent');
    clock.advance(LEASE_MS);
    await until(() => stateOf(processorId), (state) => state === 'OFFLINE');
    clock.advance(10 * LEASE_MS);
    await until(() => stateOf(processorId), (state) => state === undefined);
    expect(codeOf(await gql(t.url, worker.token, CLAIM, { p: processorId, w: 0 }))).toBe('NOT_FOUND');
  });
});

describe('remote leases across a restart', () => {
  it('a lease held when the server stops carries on after it starts again', async () => {
    const dir = tempDir();
    const env = {
      JOBLINE_PROCESSORS: '0',
      JOBLINE_LEASE_MS: '60000',
      JOBLINE_RATE_LIMIT: '0',
      JOBLINE_RETRY_BASE_MS: '3600000', // a backoff that outlasts the test
      JOBLINE_RETRY_MAX_MS: '3600000',
    };
    const first = await startApp(env, dir, { keepDir: true });
    const user = await createUser(first.url, 'patient');
    const worker = await createUser(first.url, 'steady', { role: 'PROCESSOR' });
    const processorId = await register(first.url, worker.token, 'steady-1');
    await submit(first.url, user.token, { jobId: 'survivor', durationMs: 1000 });
    const lease = (await claim(first.url, worker.token, processorId, 5000))!;
    await ok(first.url, worker.token, HEARTBEAT, { l: lease.id, p: 0.25 });
    let retryAt = '';
    await first.stop();

    const second = await startApp(env, dir, { keepDir: true });
    try {
      const renewed = (await ok(second.url, worker.token, HEARTBEAT, { l: lease.id, p: 0.75 })).heartbeat;
      expect(renewed).toMatchObject({ id: lease.id, attempt: 1, job: { jobId: 'survivor', state: 'RUNNING' } });
      const done = (await ok(second.url, worker.token, COMPLETE, { l: lease.id, r: 'ok' })).completeJob;
      expect(done).toMatchObject({ state: 'SUCCEEDED', attempts: 1, result: 'ok' });
      // The backoff of a failed attempt survives a restart too.
      await submit(second.url, user.token, { jobId: 'backing-off', durationMs: 10, maxAttempts: 2 });
      const failing = (await claim(second.url, worker.token, processorId, 5000))!;
      retryAt = (await ok(second.url, worker.token, FAIL, { l: failing.id, e: 'later' })).failJob.retryAt;
    } finally {
      await second.stop();
    }
    const third = await startApp(env, dir);
    try {
      const waiting = (await ok(third.url, user.token, JOB, { id: 'backing-off' })).job;
      expect(waiting).toMatchObject({ state: 'QUEUED', attempts: 1, error: 'later', retryAt });
      // Not handed out before its backoff ends (drawn from up to an hour: almost surely ahead).
      const processorId2 = await register(third.url, worker.token, 'steady-2');
      const early = await claim(third.url, worker.token, processorId2, 0);
      expect(early === null).toBe(Date.parse(retryAt) > Date.now());
    } finally {
      await third.stop();
    }
  });
});
