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

  it('exports Prometheus metrics that follow the queue', async () => {
    const metrics = async () => {
      const res = await fetch(t.url.replace('/graphql', '/metrics'));
      expect(res.headers.get('content-type')).toContain('text/plain');
      return res.text();
    };
    const before = await metrics();
    expect(before).toContain('# TYPE jobline_jobs_queued gauge');
    expect(before).toMatch(/^jobline_processors\{state="IDLE"\} 1$/m);
    const completed = (text: string) => Number(/^jobline_processor_jobs_completed_total\{[^}]*\} (\d+)$/m.exec(text)![1]);
    const done = completed(before);
    await submit(t.url, user.token, { jobId: 'metered', durationMs: 0 });
    const stream = sseSubscribe<{ jobProgress: { state: string } }>(t.url, user.token, `subscription { jobProgress(jobId: "metered") { state } }`);
    await stream.collect((m) => m.data?.jobProgress.state === 'SUCCEEDED');
    expect(completed(await metrics())).toBe(done + 1);
    expect(await metrics()).toMatch(/^jobline_commit_batches_total [1-9]\d*$/m);
  });
});
