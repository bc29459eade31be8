// Bad input gets a clear error with the contract's code, loses nothing, and the server
// stays up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startApp, type TestApp } from '../helpers/app.ts';
import { codeOf, createUser, gql, ok, submit, type TestUser } from '../helpers/client.ts';

const SUBMIT = `mutation ($input: SubmitJobInput!) { submitJob(input: $input) { id jobId state } }`;
const SUBMIT_MANY = `mutation ($input: [SubmitJobInput!]!) { submitJobs(input: $input) { id jobId } }`;

describe('bad input', () => {
  let t: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    t = await startApp({
      JOBLINE_PROCESSORS: '0',
      JOBLINE_MAX_DURATION_MS: '60000',
      JOBLINE_MAX_PAYLOAD_BYTES: '100',
      JOBLINE_MAX_BATCH: '5',
      JOBLINE_MAX_BODY_BYTES: '20000',
    });
    user = await createUser(t.url, 'carol');
  });
  afterAll(() => t.stop());

  const rejected = async (input: Record<string, unknown>, field: string) => {
    const result = await gql(t.url, user.token, SUBMIT, { input });
    expect(codeOf(result)).toBe('BAD_USER_INPUT');
    expect(result.errors![0]!.message).toContain(field);
    return result;
  };

  it('bounds durationMs, jobId, priority, maxAttempts and payload size', async () => {
    await rejected({ jobId: 'a', durationMs: -1 }, 'durationMs');
    await rejected({ jobId: 'a', durationMs: 60_001 }, 'durationMs');
    await rejected({ jobId: '', durationMs: 1 }, 'jobId');
    await rejected({ jobId: 'has space', durationMs: 1 }, 'jobId');
    await rejected({ jobId: 'x'.repeat(129), durationMs: 1 }, 'jobId');
    await rejected({ jobId: 'a', durationMs: 1, priority: 6 }, 'priority');
    await rejected({ jobId: 'a', durationMs: 1, maxAttempts: 0 }, 'maxAttempts');
    await rejected({ jobId: 'a', durationMs: 1, payload: { text: 'y'.repeat(100) } }, 'payload');
    // The edges are accepted: 0 ms, the maximum, a 128-character id.
    await submit(t.url, user.token, { jobId: 'instant', durationMs: 0 });
    await submit(t.url, user.token, { jobId: 'longest', durationMs: 60_000 });
    await submit(t.url, user.token, { jobId: 'x'.repeat(128), durationMs: 1 });
    // Wrong types are refused by GraphQL itself, with the same code.
    const wrongType = await gql(t.url, user.token, SUBMIT, { input: { jobId: 'a', durationMs: 'soon' } });
    expect(codeOf(wrongType)).toBe('BAD_USER_INPUT');
    const tooBigForInt = await gql(t.url, user.token, SUBMIT, { input: { jobId: 'a', durationMs: 2 ** 40 } });
    expect(codeOf(tooBigForInt)).toBe('BAD_USER_INPUT');
  });

  it('returns the existing job for an identical resubmission and CONFLICT for a different one', async () => {
    const first = await submit(t.url, user.token, { jobId: 'idem', durationMs: 100, payload: { a: 1, b: [1, 2] } });
    // Same content, keys in another order: the same job.
    const again = await submit(t.url, user.token, { jobId: 'idem', durationMs: 100, payload: { b: [1, 2], a: 1 } });
    expect(again.id).toBe(first.id);
    const conflict = await gql(t.url, user.token, SUBMIT, { input: { jobId: 'idem', durationMs: 101 } });
    expect(codeOf(conflict)).toBe('CONFLICT');
    // Concurrent duplicates make one job.
    const racers = await Promise.all(
      Array.from({ length: 6 }, () => submit(t.url, user.token, { jobId: 'race', durationMs: 5 })),
    );
    expect(new Set(racers.map((j) => j.id)).size).toBe(1);
    // Another user may use the same jobId.
    const other = await createUser(t.url, 'dave');
    const theirs = await submit(t.url, other.token, { jobId: 'idem', durationMs: 1 });
    expect(theirs.id).not.toBe(first.id);
  });

  it('applies submitJobs all or nothing', async () => {
    const bad = await gql(t.url, user.token, SUBMIT_MANY, {
      input: [
        { jobId: 'batch-1', durationMs: 1 },
        { jobId: 'batch-2', durationMs: -5 },
      ],
    });
    expect(codeOf(bad)).toBe('BAD_USER_INPUT');
    expect(bad.errors![0]!.message).toContain('input[1]');
    expect((await ok(t.url, user.token, `{ job(jobId: "batch-1") { id } }`)).job).toBeNull();

    const conflicting = await gql(t.url, user.token, SUBMIT_MANY, {
      input: [
        { jobId: 'batch-3', durationMs: 1 },
        { jobId: 'idem', durationMs: 999 },
      ],
    });
    expect(codeOf(conflicting)).toBe('CONFLICT');
    expect((await ok(t.url, user.token, `{ job(jobId: "batch-3") { id } }`)).job).toBeNull();

    const tooMany = await gql(t.url, user.token, SUBMIT_MANY, {
      input: Array.from({ length: 6 }, (_, i) => ({ jobId: `many-${i}`, durationMs: 1 })),
    });
    expect(codeOf(tooMany)).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(t.url, user.token, SUBMIT_MANY, { input: [] }))).toBe('BAD_USER_INPUT');

    const good = await ok(t.url, user.token, SUBMIT_MANY, {
      input: [
        { jobId: 'batch-1', durationMs: 1 },
        { jobId: 'batch-3', durationMs: 1 },
      ],
    });
    expect(good.submitJobs.map((j: any) => j.jobId)).toEqual(['batch-1', 'batch-3']);
    expect(Number(good.submitJobs[1].id)).toBeGreaterThan(Number(good.submitJobs[0].id));
  });

  it('names the bad entry of a batch when a variable has the wrong type', async () => {
    const result = await gql(t.url, user.token, `mutation ($jobs: [SubmitJobInput!]!) { submitJobs(input: $jobs) { id } }`, {
      jobs: [{ jobId: 'typed-0', durationMs: 5 }, { jobId: 'typed-1', durationMs: '5' }],
    });
    expect(codeOf(result)).toBe('BAD_USER_INPUT');
    expect(result.errors![0]!.message).toContain('jobs[1].durationMs');
  });

  it('bounds page sizes and user fields', async () => {
    expect(codeOf(await gql(t.url, user.token, `{ jobs(first: 101) { edges { cursor } } }`))).toBe('BAD_USER_INPUT');
    const page = await ok(t.url, user.token, `{ jobs(first: 2) { edges { cursor node { jobId } } pageInfo { hasNextPage endCursor } } }`);
    expect(page.jobs.edges).toHaveLength(2);
    expect(page.jobs.pageInfo.hasNextPage).toBe(true);
    const next = await ok(t.url, user.token, `{ jobs(first: 2, after: "${page.jobs.pageInfo.endCursor}") { edges { node { jobId } } } }`);
    expect(next.jobs.edges[0].node.jobId).not.toBe(page.jobs.edges[1].node.jobId);

    const create = (input: Record<string, unknown>) =>
      gql(t.url, ADMIN_TOKEN, `mutation ($input: CreateUserInput!) { createUser(input: $input) { token } }`, { input });
    expect(codeOf(await create({ name: '' }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await create({ name: 'n'.repeat(101) }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await create({ name: 'ok', weight: 0 }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await create({ name: 'ok', maxConcurrent: 0 }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await create({ name: 'ok', id: 'bad id' }))).toBe('BAD_USER_INPUT');
    expect(codeOf(await create({ name: 'carol' }))).toBe('CONFLICT');
    expect(codeOf(await gql(t.url, ADMIN_TOKEN, `mutation { addProcessors(count: 0) { id } }`))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(t.url, ADMIN_TOKEN, `mutation { addProcessors(count: 101) { id } }`))).toBe('BAD_USER_INPUT');
    expect(codeOf(await gql(t.url, ADMIN_TOKEN, `mutation { removeProcessor(id: "nope") { id } }`))).toBe('NOT_FOUND');
    const forNobody = await gql(t.url, ADMIN_TOKEN, SUBMIT, { input: { jobId: 'x', durationMs: 1, userId: 'ghost' } });
    expect(codeOf(forNobody)).toBe('NOT_FOUND');
  });

  it('refuses operations that are too deep, too wide or too long before running them', async () => {
    const deep = `{ job(jobId: "instant") { ${'processor { currentJob { '.repeat(6)}id${' } }'.repeat(6)} } }`;
    const aliases = `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
    const long = `{ me { ${'id '.repeat(6000)}} }`;
    for (const query of [deep, aliases, long]) {
      const result = await gql(t.url, user.token, query);
      expect(codeOf(result)).toBe('BAD_USER_INPUT');
      expect(result.data ?? null).toBeNull();
    }
    // Ordinary operations, and GraphiQL's introspection, pass.
    const { getIntrospectionQuery } = await import('graphql');
    const introspection = await gql(t.url, user.token, getIntrospectionQuery());
    expect(introspection.errors).toBeUndefined();
    expect(introspection.data!.__schema.queryType.name).toBe('Query');
  });

  it('answers malformed requests with 4xx and keeps serving', async () => {
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(t.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${user.token}`,
          ...headers,
        },
        body,
      });
    const broken = await post('{"query": ');
    expect(broken.status).toBe(400);
    expect(JSON.stringify(await broken.json())).not.toContain('originalError');
    expect((await post('[]')).status).toBeGreaterThanOrEqual(400);
    const syntax = await post('{"query":"{ me { id } "}', { accept: 'application/graphql-response+json' });
    expect(syntax.status).toBe(400);
    expect(((await syntax.json()) as any).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    const huge = await post(JSON.stringify({ query: `{ me { id } }`, variables: { pad: 'z'.repeat(30_000) } }));
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as any).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    const unknown = await gql(t.url, user.token, `{ nope }`);
    expect(codeOf(unknown)).toBe('BAD_USER_INPUT');
    // GraphQL-over-HTTP: operations GraphQL rejects are 400 for graphql-response+json
    // clients and 200-with-errors for legacy application/json ones.
    const modern = await post('{"query":"{ nope }"}', { accept: 'application/graphql-response+json' });
    expect(modern.status).toBe(400);
    const legacy = await post('{"query":"{ nope }"}', { accept: 'application/json' });
    expect(legacy.status).toBe(200);
    expect(((await legacy.json()) as any).errors[0].extensions.code).toBe('BAD_USER_INPUT');
    // Errors never leak internals.
    for (const result of [unknown, await gql(t.url, user.token, SUBMIT, { input: { jobId: 'a', durationMs: -1 } })]) {
      const text = JSON.stringify(result);
      expect(text).not.toMatch(/stack|prisma|sqlite|\.ts:\d+/i);
    }
    // Still up, and nothing acknowledged was lost.
    expect((await fetch(t.url.replace('/graphql', '/healthz'))).status).toBe(200);
    const { jobs } = await ok(t.url, user.token, `{ jobs(first: 100) { edges { node { jobId } } } }`);
    const ids = jobs.edges.map((e: any) => e.node.jobId);
    for (const id of ['instant', 'longest', 'idem', 'race', 'batch-1', 'batch-3']) expect(ids).toContain(id);
  });
});
