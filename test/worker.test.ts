// The worker SDK (src/worker/client.ts) against a real server over real HTTP.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobAbortedError, NonRetryableError, runWorker, type JobContext, type JoblineWorker, type LeasedJob, type WorkerOptions } from '../src/worker/client.ts';
import { ADMIN_TOKEN, startApp, type TestApp } from './helpers/app.ts';
import { createUser, ok, submit, type TestUser } from './helpers/client.ts';

let t: TestApp;
let owner: TestUser;
let processorToken: string;
const workers: JoblineWorker[] = [];

beforeEach(async () => {
  t = await startApp({ JOBLINE_PROCESSORS: '0', JOBLINE_RETRY_BASE_MS: '10', JOBLINE_RETRY_MAX_MS: '50', JOBLINE_RATE_LIMIT: '0' });
  owner = await createUser(t.url, 'owner');
  processorToken = (await createUser(t.url, 'worker', { role: 'PROCESSOR' })).token;
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop({ graceful: false })));
  await t.stop();
});

function start(handler: WorkerOptions['handler'], extra: Partial<WorkerOptions> = {}): JoblineWorker {
  const worker = runWorker({ url: t.url, token: processorToken, name: 'test-worker', waitMs: 2000, heartbeatMs: 50, handler, ...extra });
  workers.push(worker);
  return worker;
}

const JOB = 'state progress attempts error result processor { name kind }';

async function job(jobId: string): Promise<Record<string, any>> {
  return (await ok<{ job: Record<string, any> }>(t.url, owner.token, `query ($jobId: String!) { job(jobId: $jobId) { ${JOB} } }`, { jobId })).job;
}

async function until(jobId: string, check: (job: Record<string, any>) => boolean, timeoutMs = 10_000): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await job(jobId);
    if (check(current)) return current;
    if (Date.now() > deadline) throw new Error(`job ${jobId} never matched; last: ${JSON.stringify(current)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A promise and its resolve function, to hold a handler until the test lets it go. */
function gate<T = void>(): { promise: Promise<T>; open(value: T): void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

describe('worker SDK', () => {
  it('claims a job, carries progress to the owner with heartbeats, and completes it with a result', async () => {
    const release = gate();
    const seen: Array<{ job: LeasedJob; attempt: number }> = [];
    start(async (leased, ctx) => {
      seen.push({ job: leased, attempt: ctx.attempt });
      ctx.progress(0.4);
      await release.promise;
      return { answer: 42, echo: leased.payload };
    });
    await submit(t.url, owner.token, { jobId: 'j1', durationMs: 5000, payload: { n: 7 } });

    const running = await until('j1', (j) => j.state === 'RUNNING' && j.progress === 0.4);
    expect(running.processor).toEqual({ name: 'test-worker', kind: 'REMOTE' });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.attempt).toBe(1);
    expect(seen[0]!.job).toMatchObject({ jobId: 'j1', durationMs: 5000, payload: { n: 7 }, user: { id: owner.id, name: 'owner' } });

    release.open();
    const done = await until('j1', (j) => j.state === 'SUCCEEDED');
    expect(done).toMatchObject({ progress: 1, attempts: 1, error: null, result: { answer: 42, echo: { n: 7 } } });
  });

  it('sends new progress with an early heartbeat, long before the lease needs one', async () => {
    const next = gate();
    const release = gate();
    // The lease's own heartbeat would come only after 15 s (half the 30 s lease).
    start(
      async (_job, ctx) => {
        ctx.progress(0.3);
        await next.promise;
        ctx.progress(0.7);
        await release.promise;
        return null;
      },
      { heartbeatMs: 60_000, progressHeartbeatMs: 100 },
    );
    await submit(t.url, owner.token, { jobId: 'p1', durationMs: 5000 });
    await until('p1', (j) => j.progress === 0.3, 10_000);
    next.open();
    await until('p1', (j) => j.progress === 0.7, 10_000);
    release.open();
    await until('p1', (j) => j.state === 'SUCCEEDED');
  });

  it('takes its processor out of the pool when it stops', async () => {
    const processors = async () =>
      (await ok(t.url, ADMIN_TOKEN, '{ queueState { processors { name kind } } }')).queueState.processors as Array<{ name: string }>;
    const worker = start(async () => null);
    const deadline = Date.now() + 10_000;
    while (!(await processors()).some((p) => p.name === 'test-worker')) {
      if (Date.now() > deadline) throw new Error('the worker never registered');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await worker.stop();
    expect((await processors()).map((p) => p.name)).not.toContain('test-worker');
  });

  it('fails a job for good when the handler throws NonRetryableError', async () => {
    let calls = 0;
    start(async () => {
      calls++;
      throw new NonRetryableError('bad input file');
    });
    await submit(t.url, owner.token, { jobId: 'j2', durationMs: 10, maxAttempts: 3 });
    const failed = await until('j2', (j) => j.state === 'FAILED');
    expect(failed).toMatchObject({ attempts: 1, error: 'bad input file' });
    expect(calls).toBe(1);
  });

  it('retries a job whose handler throws an ordinary error, until it is DEAD after maxAttempts', async () => {
    const attempts: number[] = [];
    start(async (_job, ctx) => {
      attempts.push(ctx.attempt);
      throw new Error(`flaky ${ctx.attempt}`);
    });
    await submit(t.url, owner.token, { jobId: 'j3', durationMs: 10, maxAttempts: 3 });
    const dead = await until('j3', (j) => j.state === 'DEAD');
    expect(dead).toMatchObject({ attempts: 3, error: 'flaky 3' });
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('stops gracefully: finishes and reports the current job, then claims nothing more', async () => {
    const release = gate();
    const started = gate();
    const handled: string[] = [];
    const worker = start(async (leased) => {
      handled.push(leased.jobId);
      started.open();
      await release.promise;
      return 'ok';
    });
    await submit(t.url, owner.token, { jobId: 'g1', durationMs: 5000 });
    await started.promise;
    let stopped = false;
    const stopping = worker.stop().then(() => (stopped = true));
    await submit(t.url, owner.token, { jobId: 'g2', durationMs: 10 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stopped).toBe(false);
    expect((await job('g1')).state).toBe('RUNNING');

    release.open();
    await stopping;
    expect(await job('g1')).toMatchObject({ state: 'SUCCEEDED', result: 'ok' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await job('g2')).state).toBe('QUEUED');
    expect(handled).toEqual(['g1']);
  });

  it('aborts the handler when the lease is lost (job cancelled) and reports nothing', async () => {
    const aborted = gate<unknown>();
    const warnings: string[] = [];
    start(
      async (_job, ctx: JobContext) => {
        ctx.signal.addEventListener('abort', () => aborted.open(ctx.signal.reason));
        await new Promise((resolve) => setTimeout(resolve, 60_000).unref());
      },
      { log: { info() {}, error() {}, warn: (message) => warnings.push(message) } },
    );
    await submit(t.url, owner.token, { jobId: 'c1', durationMs: 60_000 });
    await until('c1', (j) => j.state === 'RUNNING');
    await ok(t.url, owner.token, 'mutation { cancelJob(jobId: "c1") { state } }');
    const reason = await aborted.promise;
    expect(reason).toBeInstanceOf(JobAbortedError);
    expect((reason as JobAbortedError).why).toBe('lease-lost');
    expect((await job('c1')).state).toBe('CANCELLED');
  });

  it('a hard stop aborts the handler and hands the job back to the queue', async () => {
    const started = gate();
    const worker = start(async (_job, ctx) => {
      started.open();
      await new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
    });
    await submit(t.url, owner.token, { jobId: 'h1', durationMs: 60_000, maxAttempts: 3 });
    await started.promise;
    await worker.stop({ graceful: false });
    const back = await until('h1', (j) => j.state === 'QUEUED');
    expect(back.attempts).toBe(1);
    expect(back.error).toMatch(/^worker stopped/);
  });

  it('retries reports through network errors and rate limiting', async () => {
    let failures = 0;
    const flaky: typeof fetch = async (input, init) => {
      const body = String(init?.body ?? '');
      if (body.includes('completeJob') && failures < 2) {
        failures++;
        if (failures === 1) throw new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } });
        return new Response(JSON.stringify({ errors: [{ message: 'slow down', extensions: { code: 'RATE_LIMITED', retryAfterMs: 30 } }] }), {
          status: 429,
          headers: { 'content-type': 'application/json' },
        });
      }
      return fetch(input, init);
    };
    start(async () => 'fine', { fetch: flaky });
    await submit(t.url, owner.token, { jobId: 'r1', durationMs: 10 });
    expect(await until('r1', (j) => j.state === 'SUCCEEDED')).toMatchObject({ result: 'fine' });
    expect(failures).toBe(2);
  });

  it('stops with a fatal error on a token that may not process', async () => {
    const worker = runWorker({ url: t.url, token: owner.token, handler: async () => null, log: { info() {}, warn() {}, error() {} } });
    await expect(worker.done).rejects.toThrow(/FORBIDDEN/);
    const admin = runWorker({ url: t.url, token: ADMIN_TOKEN, waitMs: 100, handler: async () => null });
    workers.push(admin);
    await submit(t.url, owner.token, { jobId: 'a1', durationMs: 0 });
    await until('a1', (j) => j.state === 'SUCCEEDED');
  });
});

describe('worker SDK under the server rate limit', () => {
  it('waits out RATE_LIMITED (retryAfterMs) on claims and reports, and loses no job', async () => {
    await t.stop();
    t = await startApp({ JOBLINE_PROCESSORS: '0', JOBLINE_PROCESSOR_RATE_LIMIT: '5', JOBLINE_PROCESSOR_RATE_BURST: '3' });
    owner = await createUser(t.url, 'owner');
    processorToken = (await createUser(t.url, 'worker', { role: 'PROCESSOR' })).token;
    const warnings: string[] = [];
    let limited = 0;
    const counting: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (response.status === 429) limited++;
      return response;
    };
    start(async (leased) => leased.jobId, { fetch: counting, log: { info() {}, error() {}, warn: (message) => warnings.push(message) } });
    const jobIds = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];
    await ok(t.url, owner.token, 'mutation ($input: [SubmitJobInput!]!) { submitJobs(input: $input) { id } }', {
      input: jobIds.map((jobId) => ({ jobId, durationMs: 0 })),
    });
    for (const jobId of jobIds) expect(await until(jobId, (j) => j.state === 'SUCCEEDED')).toMatchObject({ result: jobId, attempts: 1 });
    expect(warnings.filter((w) => w === 'lease lost' || w === 'failed')).toEqual([]);
    expect(limited).toBeGreaterThan(0); // the limit did bite
  });
});
