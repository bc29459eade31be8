// The other doors into the server: SSE subscriptions, the GraphiQL page, health probes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../helpers/app.ts';
import { createUser, sseSubscribe, submit, type TestUser } from '../helpers/client.ts';

describe('transports', () => {
  let t: TestApp;
  let user: TestUser;

  beforeAll(async () => {
    t = await startApp({ JOBLINE_PROCESSORS: '1' });
    user = await createUser(t.url, 'gina');
  });
  afterAll(() => t.stop());

  it('streams jobProgress over SSE with the bearer header, to the terminal event', async () => {
    await submit(t.url, user.token, { jobId: 'sse', durationMs: 200 });
    const stream = sseSubscribe<{ jobProgress: { state: string; progress: number | null } }>(
      t.url,
      user.token,
      `subscription { jobProgress(jobId: "sse") { state progress } }`,
    );
    expect(await stream.status).toBe(200);
    const events = await stream.collect((m) => m.data?.jobProgress.state === 'SUCCEEDED');
    expect(events.at(-1)!.data!.jobProgress.progress).toBe(1);
    await stream.done();
  });

  it('serves GraphiQL with a starter query and token instructions', async () => {
    const res = await fetch(t.url, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('Jobline');
    expect(html).toContain('Authorization');
    expect(html).toContain('queueState');
  });

  it('answers liveness and readiness', async () => {
    const base = t.url.replace('/graphql', '');
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: 'ready' });
  });
});
