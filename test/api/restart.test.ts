// A restart rebuilds a long queue from the database page by page, in order, losing nothing.
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startApp, tempDir } from '../helpers/app.ts';
import { createUser, ok } from '../helpers/client.ts';

describe('restart with a long queue', () => {
  const dir = tempDir();
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('brings back more queued jobs than one recovery page (5,000), in submission order', async () => {
    const total = 5_500;
    // 5,500 jobs in quick batches are past one user's rate limit; this test is about recovery.
    const first = await startApp({ JOBLINE_PROCESSORS: '0', JOBLINE_POLICY: 'fifo', JOBLINE_RATE_LIMIT: '0' }, dir, { keepDir: true });
    const user = await createUser(first.url, 'patient');
    for (let start = 0; start < total; start += 1000) {
      const jobs = Array.from({ length: Math.min(1000, total - start) }, (_, i) => ({ jobId: `q-${start + i}`, durationMs: 1 }));
      await ok(first.url, user.token, `mutation ($jobs: [SubmitJobInput!]!) { submitJobs(input: $jobs) { id } }`, { jobs });
    }
    await first.stop();

    const second = await startApp({ JOBLINE_PROCESSORS: '0', JOBLINE_POLICY: 'fifo' }, dir, { keepDir: true });
    try {
      const state = await ok(second.url, ADMIN_TOKEN, `{ queueState { queuedCount } }`);
      expect(state.queueState.queuedCount).toBe(total);
      for (const [jobId, position] of [['q-0', 1], ['q-4999', 5000], ['q-5000', 5001], ['q-5499', 5500]] as const) {
        const job = await ok(second.url, user.token, `{ job(jobId: "${jobId}") { state queuePosition } }`);
        expect(job.job).toEqual({ state: 'QUEUED', queuePosition: position });
      }
    } finally {
      await second.stop();
    }
  });
});
