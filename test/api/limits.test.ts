// Abuse limits end to end: the per-user mutation rate limit over HTTP, SSE and graphql-ws,
// and the cap on subscriptions per graphql-ws connection.
import { getOperationAST, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mutationCost } from '../../src/graphql/rate-limit.ts';
import { ADMIN_TOKEN, startApp, tempDir, type TestApp } from '../helpers/app.ts';
import { codeOf, createUser, gql, ok, submit, wsClient, wsSubscribe, type GqlResult, type TestUser } from '../helpers/client.ts';
import { ManualClock } from '../helpers/manual-clock.ts';

const SUBMIT = `mutation ($input: SubmitJobInput!) { submitJob(input: $input) { id } }`;
const JOB = `query ($jobId: String!) { job(jobId: $jobId) { id } }`;

/** A submitJob over HTTP that also returns the status and Retry-After header. */
async function submitRaw(url: string, token: string | undefined, jobId: string, accept = 'application/json') {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query: SUBMIT, variables: { input: { jobId, durationMs: 1 } } }),
  });
  const text = await res.text();
  return { status: res.status, retryAfter: res.headers.get('retry-after'), text };
}

const retryAfterMs = (result: GqlResult) => result.errors?.[0]?.extensions?.retryAfterMs as number | undefined;

/** `count` aliased submitJob fields in one mutation. */
const aliased = (prefix: string, count: number) =>
  `mutation { ${Array.from({ length: count }, (_, i) => `m${i}: submitJob(input: { jobId: "${prefix}-${i}", durationMs: 1 }) { id }`).join(' ')} }`;

describe('what a mutation costs', () => {
  const cost = (text: string, operationName?: string, variables?: Record<string, unknown>) => {
    const document = parse(text);
    return mutationCost(document, getOperationAST(document, operationName)!.selectionSet, variables);
  };

  it('is its root fields: aliases count, fragments are followed, a repeated response key is one field', () => {
    expect(cost('mutation { cancelJob(jobId: "a") { id } }')).toBe(1);
    expect(cost('mutation { a: cancelJob(jobId: "a") { id } b: cancelJob(jobId: "b") { id } }')).toBe(2);
    expect(cost('mutation { cancelJob(jobId: "a") { id } cancelJob(jobId: "a") { state } }')).toBe(1);
    expect(cost('mutation { ...F ... on Mutation { c: cancelJob(jobId: "c") { id } } } fragment F on Mutation { a: cancelJob(jobId: "a") { id } b: cancelJob(jobId: "b") { id } }')).toBe(3);
    expect(cost('query Q { me { id } } mutation M { a: cancelJob(jobId: "a") { id } b: cancelJob(jobId: "b") { id } }', 'M')).toBe(2);
  });

  it('charges a submitJobs batch one per started ten jobs, inline or in variables', () => {
    const jobs = (n: number) => Array.from({ length: n }, (_, i) => ({ jobId: `j${i}`, durationMs: 1 }));
    const byVariable = 'mutation ($input: [SubmitJobInput!]!) { submitJobs(input: $input) { id } }';
    expect(cost(byVariable, undefined, { input: jobs(1) })).toBe(1);
    expect(cost(byVariable, undefined, { input: jobs(10) })).toBe(1);
    expect(cost(byVariable, undefined, { input: jobs(11) })).toBe(2);
    expect(cost(byVariable, undefined, { input: jobs(1000) })).toBe(100);
    expect(cost('mutation { submitJobs(input: [{ jobId: "a", durationMs: 1 }, { jobId: "b", durationMs: 1 }]) { id } }')).toBe(1);
    expect(cost(`mutation { a: submitJobs(input: [${'{ jobId: "x", durationMs: 1 } '.repeat(25)}]) { id } b: cancelJob(jobId: "c") { id } }`)).toBe(4);
  });
});

describe('mutation rate limit (5 per second, bursts of 10; the clock moves only when told)', () => {
  const clock = new ManualClock();
  let t: TestApp;

  beforeAll(async () => {
    t = await startApp(
      {
        JOBLINE_PROCESSORS: '0',
        JOBLINE_RATE_LIMIT: '5',
        JOBLINE_RATE_BURST: '10',
        JOBLINE_PROCESSOR_RATE_LIMIT: '10',
        JOBLINE_PROCESSOR_RATE_BURST: '20',
      },
      tempDir(),
      { clock },
    );
  });
  afterAll(() => t.stop());

  it('refuses the request past the burst with RATE_LIMITED, an exact hint and 429 + Retry-After; nothing runs', async () => {
    const alice = await createUser(t.url, 'alice');
    for (let i = 0; i < 10; i++) await submit(t.url, alice.token, { jobId: `a-${i}`, durationMs: 1 });

    const refused = await submitRaw(t.url, alice.token, 'a-10');
    expect(refused.status).toBe(429);
    expect(refused.retryAfter).toBe('1');
    const body = JSON.parse(refused.text) as GqlResult;
    expect(body.data ?? null).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]!.extensions).toEqual({ code: 'RATE_LIMITED', retryAfterMs: 200 });
    expect(body.errors![0]!.message).toBe(
      'too many requests: 5 mutations per second per user (bursts of up to 10); retry in 200 ms',
    );
    expect((await ok(t.url, alice.token, JOB, { jobId: 'a-10' })).job).toBeNull();

    // The hint is exact: a millisecond early is still refused (with what is left), on time passes.
    clock.advance(199);
    expect(retryAfterMs(await gql(t.url, alice.token, SUBMIT, { input: { jobId: 'a-10', durationMs: 1 } }))).toBe(1);
    clock.advance(1);
    await submit(t.url, alice.token, { jobId: 'a-10', durationMs: 1 });
  });

  it('counts every aliased root field, and refuses one request larger than the burst outright', async () => {
    const bob = await createUser(t.url, 'bob');
    const ten = await ok(t.url, bob.token, aliased('b', 10));
    expect(Object.keys(ten)).toHaveLength(10);
    expect(codeOf(await gql(t.url, bob.token, SUBMIT, { input: { jobId: 'b-next', durationMs: 1 } }))).toBe('RATE_LIMITED');

    clock.advance(2000); // full again
    const eleven = await gql(t.url, bob.token, aliased('c', 11));
    expect(codeOf(eleven)).toBe('BAD_USER_INPUT');
    expect(eleven.errors![0]!.message).toContain('this request costs 11 (one per mutation');
    expect((await ok(t.url, bob.token, JOB, { jobId: 'c-0' })).job).toBeNull();
    // Refusing it took no tokens: a full burst still passes.
    await ok(t.url, bob.token, aliased('c', 10));
  });

  it('is per user: one user at its limit does not slow another', async () => {
    const carol = await createUser(t.url, 'carol');
    const dave = await createUser(t.url, 'dave');
    await ok(t.url, carol.token, aliased('carol', 10));
    expect(codeOf(await gql(t.url, carol.token, SUBMIT, { input: { jobId: 'x', durationMs: 1 } }))).toBe('RATE_LIMITED');
    await ok(t.url, dave.token, aliased('dave', 10));
  });

  it('never limits queries, nor an admin, nor counts unauthenticated mutations', async () => {
    const erin = await createUser(t.url, 'erin');
    await ok(t.url, erin.token, aliased('erin', 10));
    for (let i = 0; i < 50; i++) await ok(t.url, erin.token, `{ me { id } jobs(first: 1) { edges { cursor } } }`);

    for (let i = 0; i < 3; i++) await ok(t.url, ADMIN_TOKEN, aliased(`admin-${i}`, 20));

    for (let i = 0; i < 15; i++) {
      expect(codeOf(await gql(t.url, undefined, SUBMIT, { input: { jobId: `anon-${i}`, durationMs: 1 } }))).toBe('UNAUTHENTICATED');
    }
  });

  it('limits PROCESSOR callers too, on their own budget (before their mutation is even authorised)', async () => {
    const robot = await createUser(t.url, 'robot', { role: 'PROCESSOR' });
    const codes = [];
    for (let i = 0; i < 21; i++) codes.push(codeOf(await gql(t.url, robot.token, SUBMIT, { input: { jobId: `r-${i}`, durationMs: 1 } })));
    expect(codes.slice(0, 20).every((code) => code !== 'RATE_LIMITED')).toBe(true);
    expect(codes[20]).toBe('RATE_LIMITED');
  });

  it('limits mutations over graphql-ws and SSE from the same bucket', async () => {
    const frank = await createUser(t.url, 'frank');
    const client = wsClient(t.url, frank.token);
    try {
      for (let i = 0; i < 10; i++) {
        const result = await wsSubscribe(client, SUBMIT, { input: { jobId: `ws-${i}`, durationMs: 1 } }).next();
        expect(result.errors).toBeUndefined();
      }
      const refused = await wsSubscribe(client, SUBMIT, { input: { jobId: 'ws-10', durationMs: 1 } }).next();
      // No `http` details on a WebSocket: just the code and the hint.
      expect(refused.errors![0]!.extensions).toEqual({ code: 'RATE_LIMITED', retryAfterMs: 200 });
      expect(refused.data ?? null).toBeNull();

      // HTTP and SSE draw on the same bucket.
      expect(codeOf(await gql(t.url, frank.token, SUBMIT, { input: { jobId: 'http', durationMs: 1 } }))).toBe('RATE_LIMITED');
      const sse = await submitRaw(t.url, frank.token, 'sse', 'text/event-stream');
      expect(sse.status).toBe(429);
      expect(sse.text).toContain('"code":"RATE_LIMITED"');
      expect(sse.text).not.toContain('"http"');

      clock.advance(200);
      const later = await wsSubscribe(client, SUBMIT, { input: { jobId: 'ws-10', durationMs: 1 } }).next();
      expect(later.errors).toBeUndefined();
    } finally {
      await client.dispose();
    }
  });
});

describe('mutation rate limit on the real clock', () => {
  let t: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    t = await startApp({ JOBLINE_PROCESSORS: '0', JOBLINE_RATE_LIMIT: '20', JOBLINE_RATE_BURST: '3' });
    user = await createUser(t.url, 'gus');
  });
  afterAll(() => t.stop());

  it('a client that waits the hint gets through', async () => {
    for (let round = 0; round < 5; round++) {
      // Spend until refused: at least the burst passes (time only adds tokens).
      let passed = 0;
      let refused: GqlResult | undefined;
      while (!refused && passed < 100) {
        const result = await gql(t.url, user.token, SUBMIT, { input: { jobId: `g-${round}-${passed}`, durationMs: 1 } });
        if (codeOf(result) === 'RATE_LIMITED') refused = result;
        else if (result.errors) throw new Error(JSON.stringify(result.errors));
        else passed++;
      }
      const receivedAt = Date.now();
      if (round === 0) expect(passed).toBeGreaterThanOrEqual(3);
      const hint = retryAfterMs(refused!)!;
      expect(Number.isInteger(hint) && hint >= 1 && hint <= 50).toBe(true); // one token: ≤ 1000 / 20 ms
      // Wait out the hint by the same clock the server uses (a timer may fire a little early).
      while (Date.now() < receivedAt + hint) await new Promise((resolve) => setTimeout(resolve, receivedAt + hint - Date.now()));
      const retried = await gql(t.url, user.token, SUBMIT, { input: { jobId: `g-${round}-${passed}`, durationMs: 1 } });
      expect(retried.errors).toBeUndefined();
    }
  });
});

describe('subscriptions per graphql-ws connection (at most 3)', () => {
  let t: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    t = await startApp({ JOBLINE_PROCESSORS: '0', JOBLINE_MAX_SUBSCRIPTIONS: '3' });
    user = await createUser(t.url, 'hana');
  });
  afterAll(() => t.stop());

  type Snapshot = { myQueue: { queued: Array<{ jobId: string }> } };
  const MY_QUEUE = `subscription { myQueue { queued { jobId } } }`;

  it('refuses the extra one with RATE_LIMITED; the others keep delivering; a finished one frees its slot', async () => {
    await submit(t.url, user.token, { jobId: 'watched', durationMs: 1000 });
    const client = wsClient(t.url, user.token);
    try {
      const first = wsSubscribe<Snapshot>(client, MY_QUEUE);
      const second = wsSubscribe<Snapshot>(client, MY_QUEUE);
      const progress = wsSubscribe(client, `subscription { jobProgress(jobId: "watched") { state } }`);
      for (const stream of [first, second, progress]) expect((await stream.next()).errors).toBeUndefined();

      const extra = wsSubscribe(client, MY_QUEUE);
      await extra.done();
      const [error] = extra.error as Array<{ message: string; extensions: { code: string } }>;
      expect(error!.extensions.code).toBe('RATE_LIMITED');
      expect(error!.message).toContain('at most 3 may be open at once on one connection');

      // Queries and mutations on the same connection are not subscriptions: they pass.
      expect((await wsSubscribe(client, `{ me { id } }`).next()).data).toEqual({ me: { id: user.id } });
      // The three still deliver.
      await submit(t.url, user.token, { jobId: 'later', durationMs: 1000 });
      for (const stream of [first, second]) {
        await stream.collect((m) => m.data!.myQueue.queued.some((job) => job.jobId === 'later'));
      }
      expect(first.ended || second.ended || progress.ended).toBe(false);

      // A stream the server ends frees its slot...
      await ok(t.url, user.token, `mutation { cancelJob(jobId: "watched") { state } }`);
      await progress.done();
      const third = wsSubscribe<Snapshot>(client, MY_QUEUE);
      expect((await third.next()).errors).toBeUndefined();
      const refusedAgain = wsSubscribe(client, MY_QUEUE);
      await refusedAgain.done();
      expect((refusedAgain.error as Array<{ extensions: { code: string } }>)[0]!.extensions.code).toBe('RATE_LIMITED');

      // ...and so does one the client completes.
      first.unsubscribe();
      const fourth = wsSubscribe<Snapshot>(client, MY_QUEUE);
      expect((await fourth.next()).errors).toBeUndefined();
    } finally {
      await client.dispose();
    }
  });

  it('counts per connection: another connection of the same user has its own slots', async () => {
    const a = wsClient(t.url, user.token);
    const b = wsClient(t.url, user.token);
    try {
      for (let i = 0; i < 3; i++) expect((await wsSubscribe(a, MY_QUEUE).next()).errors).toBeUndefined();
      // Five at once on the other: exactly three get in, however the requests interleave.
      const streams = Array.from({ length: 5 }, () => wsSubscribe<Snapshot>(b, MY_QUEUE));
      const outcomes = await Promise.all(
        streams.map(async (stream) => {
          try {
            return (await stream.next()).errors ? 'error' : 'accepted';
          } catch {
            return (stream.error as Array<{ extensions: { code: string } }>)[0]!.extensions.code;
          }
        }),
      );
      expect(outcomes.sort()).toEqual(['RATE_LIMITED', 'RATE_LIMITED', 'accepted', 'accepted', 'accepted']);
    } finally {
      await Promise.all([a.dispose(), b.dispose()]);
    }
  });
});

describe('JSON nesting (a bound the fuzz test found missing)', () => {
  let t: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    t = await startApp({ JOBLINE_PROCESSORS: '0' });
    user = await createUser(t.url, 'iris');
  });
  afterAll(() => t.stop());

  const nested = (depth: number): unknown => {
    let value: unknown = 1;
    for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value };
    return value;
  };

  it('takes a payload nested 100 deep and refuses 101 — or 5000 — with BAD_USER_INPUT naming the field', async () => {
    await submit(t.url, user.token, { jobId: 'deep-100', durationMs: 1, payload: nested(100) });
    for (const depth of [101, 5000]) {
      // Sent as text: JSON.stringify itself would overflow on the deepest value.
      const payload = `${'['.repeat(depth)}${']'.repeat(depth)}`;
      const res = await fetch(t.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
        body: `{"query":${JSON.stringify(SUBMIT)},"variables":{"input":{"jobId":"deep-${depth}","durationMs":1,"payload":${payload}}}}`,
      });
      const body = (await res.json()) as GqlResult;
      expect(codeOf(body)).toBe('BAD_USER_INPUT');
      expect(body.errors![0]!.message).toContain('"input.payload"');
      expect(body.errors![0]!.message).toContain('at most 100 levels deep');
    }
    const literal = await gql(t.url, user.token, `mutation { submitJob(input: { jobId: "lit", durationMs: 1, payload: ${'['.repeat(101)}${']'.repeat(101)} }) { id } }`);
    expect(codeOf(literal)).toBe('BAD_USER_INPUT');
  });
});
