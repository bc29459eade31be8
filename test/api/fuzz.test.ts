// Hundreds of malformed and abusive requests against one real server, over HTTP and
// graphql-ws: every answer is a client error in the contract's words (or a success), none
// leaks internals, and the server keeps serving. Random inputs come from fast-check with a
// fixed seed, so a failure names a request that reproduces. The cases are in
// test/helpers/abuse.ts.
import { request as httpRequest } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ADMIN_TOKEN, startApp, type TestApp } from '../helpers/app.ts';
import { httpProbes, judge, SUBMIT, type Probe } from '../helpers/abuse.ts';
import { createUser, ok, submit, wsClient, wsSubscribe, type TestUser } from '../helpers/client.ts';

const SEED = 20261123;
const BODY_LIMIT = 16_384;

describe('fuzz: malformed and abusive requests', () => {
  let t: TestApp;
  let user: TestUser;
  /** What went wrong, one line per bad answer: empty when every answer was in the contract. */
  const problems: string[] = [];
  const check = (label: string, status: number | undefined, text: string) => {
    for (const problem of judge(status, text)) problems.push(`${label} → ${status ?? 'ws'}: ${problem}`);
  };

  beforeAll(async () => {
    t = await startApp({ JOBLINE_PROCESSORS: '1', JOBLINE_MAX_BODY_BYTES: String(BODY_LIMIT) });
    user = await createUser(t.url, 'mallory');
    await submit(t.url, user.token, { jobId: 'existing', durationMs: 0 });
  });
  afterAll(() => t.stop());
  beforeEach(() => {
    problems.length = 0;
  });

  async function send(probe: Probe): Promise<void> {
    try {
      const res = await fetch(probe.search === undefined ? t.url : `${t.url}?${probe.search}`, {
        method: probe.method ?? 'POST',
        headers: probe.headers,
        body: probe.method === 'GET' ? undefined : (probe.body as BodyInit | undefined),
        // A hang is a finding too.
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text();
      if (!res.headers.get('content-type')?.startsWith('text/event-stream')) return check(probe.label, res.status, text);
      // A subscription over SSE: judge every event it sent.
      const events = [...text.matchAll(/^data: (.+)$/gm)].map((match) => match[1]!);
      if (events.length === 0) problems.push(`${probe.label} → ${res.status}: an event stream without events`);
      for (const data of events) check(`${probe.label} (event)`, res.status, data);
    } catch (error) {
      problems.push(`${probe.label}: request failed: ${String(error)}`);
    }
  }

  it('answers every HTTP one with a contract code and no internals, and stays up', async () => {
    const probes = httpProbes({ token: user.token, adminToken: ADMIN_TOKEN, bodyLimit: BODY_LIMIT, seed: SEED });
    expect(probes.length).toBeGreaterThanOrEqual(500);
    // A dozen at a time: overlapping, not a flood the machine notices.
    let next = 0;
    await Promise.all(
      Array.from({ length: 12 }, async () => {
        while (next < probes.length) await send(probes[next++]!);
      }),
    );
    expect(problems).toEqual([]);

    // Still serving: a query, a mutation (from a user the barrage did not rate-limit), health.
    expect((await ok(t.url, user.token, `{ me { id } }`)).me.id).toBe(user.id);
    const fresh = await createUser(t.url, 'after-the-storm');
    expect((await submit(t.url, fresh.token, { jobId: 'after', durationMs: 0 })).jobId).toBe('after');
    expect((await fetch(t.url.replace('/graphql', '/healthz'))).status).toBe(200);
  });

  it('refuses requests without a usable length, and survives broken framing', async () => {
    // A streamed body has no Content-Length: 411, before anything is read.
    const chunked = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
      body: new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode('{"query":"{ me { id } }"}')), c.close()) }),
      duplex: 'half',
    } as RequestInit);
    check('chunked body', chunked.status, await chunked.text());
    expect(chunked.status).toBe(411);
    // Lengths node's HTTP parser refuses on its own (it answers 400 or drops the socket).
    const { hostname, port } = new URL(t.url);
    const raw = (length: string) =>
      new Promise<number | 'closed'>((resolve) => {
        const req = httpRequest({
          hostname,
          port: Number(port),
          path: '/graphql',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': length },
        });
        req.on('response', (res) => (res.resume(), resolve(res.statusCode!)));
        req.on('error', () => resolve('closed'));
        req.end('{"query":"{ me { id } }"}');
      });
    for (const length of ['-1', 'abc', '1e3', '99999999999999999999']) {
      const status = await raw(length);
      expect(status === 'closed' || status < 500).toBe(true);
    }
    expect(problems).toEqual([]);
    expect((await fetch(t.url.replace('/graphql', '/healthz'))).status).toBe(200);
  });

  it('answers abuse over graphql-ws the same way, and closes only a socket that breaks the protocol', async () => {
    const client = wsClient(t.url, user.token);
    const anonymous = wsClient(t.url, 'nonsense');
    const outcomes: Array<Promise<void>> = [];
    const over = (c: typeof client, label: string, query: string, variables?: Record<string, unknown>) =>
      outcomes.push(
        (async () => {
          const stream = wsSubscribe(c, query, variables);
          try {
            check(`ws ${label}`, undefined, JSON.stringify(await stream.next(10_000)));
          } catch {
            // graphql-ws reports a refused operation through `error`, with its GraphQL errors.
            if (!Array.isArray(stream.error)) return void problems.push(`ws ${label}: ${JSON.stringify(stream.error)}`);
            check(`ws ${label}`, undefined, JSON.stringify({ errors: stream.error }));
          }
          stream.unsubscribe();
        })(),
      );
    const cases: Array<[string, string]> = [
      ['syntax', '{ me { id '],
      ['unknown', '{ nope }'],
      ['depth', `{ job(jobId: "existing") { ${'processor { currentJob { '.repeat(7)}id${' } }'.repeat(7)} } }`],
      ['aliases', `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: me { id }`).join(' ')} }`],
      ['tokens', `{ me { ${'id '.repeat(5100)}} }`],
      ['directives', `{ me ${'@include(if: true) '.repeat(30)}{ id } }`],
      ['nested literal', `{ job(jobId: ${'['.repeat(2000)}"x"${']'.repeat(2000)}) { id } }`],
      ['null byte', '{ job(jobId: "\\u0000") { id } }'],
      ['empty', ''],
      ['two operations', 'query A { me { id } } query B { me { id } }'],
      ['wrong variable', SUBMIT],
      ['forbidden', 'mutation { addProcessors(count: 1) { id } }'],
    ];
    try {
      for (const [label, query] of cases) {
        over(client, label, query, { input: { jobId: 1, durationMs: 'x' } });
        over(anonymous, `anonymous ${label}`, query);
      }
      for (const query of fc.sample(fc.string({ unit: 'binary', maxLength: 100 }), { seed: SEED, numRuns: 30 })) {
        over(client, `random ${JSON.stringify(query)}`, query);
      }
      over(anonymous, 'anonymous me', '{ me { id } }');
      over(anonymous, 'anonymous subscription', 'subscription { jobCompleted { id } }');
      await Promise.all(outcomes);
      expect(problems).toEqual([]);
      // The same connection still works: nothing above closed it.
      expect((await wsSubscribe(client, '{ me { id } }').next()).data).toEqual({ me: { id: user.id } });
    } finally {
      await Promise.all([client.dispose(), anonymous.dispose()]);
    }

    // Protocol abuse on raw sockets: each socket is closed, the server is not.
    const closeCodeOf = (send: (ws: WebSocket) => void, protocol = 'graphql-transport-ws') =>
      new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(t.url.replace(/^http/, 'ws'), protocol);
        const timer = setTimeout(() => (ws.terminate(), reject(new Error('socket not closed'))), 10_000);
        ws.on('open', () => send(ws));
        ws.on('close', (code) => (clearTimeout(timer), resolve(code)));
        ws.on('error', () => undefined);
      });
    const init = JSON.stringify({ type: 'connection_init' });
    expect(await closeCodeOf((ws) => ws.send('not json'))).toBe(4400);
    expect(await closeCodeOf((ws) => ws.send(JSON.stringify({ type: 'subscribe', id: '1', payload: { query: '{ me { id } }' } })))).toBe(4401);
    expect(await closeCodeOf((ws) => ws.send('x'.repeat(BODY_LIMIT + 1)))).toBe(1009);
    expect(await closeCodeOf((ws) => (ws.send(init), ws.send(init)))).toBe(4429);
    // An unknown subprotocol: the server picks none, and the client gives up (1002 or 1006).
    expect([1002, 1006]).toContain(await closeCodeOf(() => undefined, 'nonsense'));
    expect((await ok(t.url, user.token, `{ me { id } }`)).me.id).toBe(user.id);
  });
});
