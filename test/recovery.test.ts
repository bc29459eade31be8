// Restarts lose nothing: a crash (SIGKILL) or a graceful stop (SIGTERM) mid-run, then a
// restart on the same database file, and every acknowledged job still finishes, in order,
// with the work already done kept.
import { rmSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, tempDir } from './helpers/app.ts';
import { createUser, ok, submit, wsClient, wsSubscribe } from './helpers/client.ts';
import { killAllServers, spawnServer } from './helpers/process.ts';

const dirs: string[] = [];
afterEach(killAllServers);
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function freshDb(): string {
  const dir = tempDir();
  dirs.push(dir);
  return path.join(dir, 'jobline.db');
}

type Progress = { jobProgress: { state: string; elapsedMs: number | null } };

/** Waits until the job has been running for at least `ms` of work, as the server reports it. */
async function runningFor(url: string, token: string, jobId: string, ms: number): Promise<number> {
  const ws = wsClient(url, token);
  const stream = wsSubscribe<Progress>(ws, `subscription { jobProgress(jobId: "${jobId}") { state elapsedMs } }`);
  try {
    for (;;) {
      const event = (await stream.next()).data!.jobProgress;
      if (event.state === 'RUNNING' && event.elapsedMs! >= ms) return event.elapsedMs!;
    }
  } finally {
    stream.unsubscribe();
    await ws.dispose();
  }
}

/** Waits until the server has checkpointed some work of the job to the database file. */
async function checkpointed(dbFile: string, jobId: string): Promise<number> {
  const db = new Database(dbFile, { readonly: true });
  try {
    for (;;) {
      const row = db.prepare('SELECT progressMs FROM Job WHERE jobId = ?').get(jobId) as { progressMs: number };
      if (row.progressMs > 0) return row.progressMs;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    db.close();
  }
}

const STATE = `query ($id: String!) { job(jobId: $id) { state progress runMs attempts queuePosition finishedAt } }`;

describe('restart recovery', () => {
  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    it(`after ${signal} mid-run, queued jobs keep their order and the running job resumes with its work`, async () => {
      const db = freshDb();
      const first = await spawnServer(db, { JOBLINE_PROCESSORS: '1' });
      const user = await createUser(first.url, 'erin');
      await submit(first.url, user.token, { jobId: 'long', durationMs: 1500 });
      for (const jobId of ['next-1', 'next-2', 'next-3']) await submit(first.url, user.token, { jobId, durationMs: 50 });
      const batch = Array.from({ length: 20 }, (_, i) => ({ jobId: `batch-${i}`, durationMs: 0 }));
      await ok(first.url, user.token, `mutation ($input: [SubmitJobInput!]!) { submitJobs(input: $input) { id } }`, {
        input: batch,
      });
      // Let it work a while, and (for the crash) until a checkpoint is on disk.
      const seen = await runningFor(first.url, user.token, 'long', 300);
      const durable = signal === 'SIGKILL' ? await checkpointed(db, 'long') : 0;
      const code = await first.stop(signal);
      if (signal === 'SIGTERM') {
        expect(code).toBe(0);
        expect(first.output()).toContain('stopped cleanly');
      }

      // Restart with no processors so the recovered state can be inspected before it moves.
      const second = await spawnServer(db, { JOBLINE_PROCESSORS: '0' });
      const long = (await ok(second.url, user.token, STATE, { id: 'long' })).job;
      expect(long.state).toBe('QUEUED');
      expect(long.attempts).toBe(1);
      expect(long.queuePosition).toBe(1);
      // Work kept: a crash keeps the last checkpoint (or a later one); a graceful stop keeps
      // everything done up to the stop.
      const kept = Math.round(long.progress * 1500); // progress is a fraction: undo float error
      expect(kept).toBeGreaterThan(0);
      expect(kept).toBeGreaterThanOrEqual(signal === 'SIGTERM' ? seen : durable);
      for (const [i, jobId] of ['next-1', 'next-2', 'next-3'].entries()) {
        expect((await ok(second.url, user.token, STATE, { id: jobId })).job.queuePosition).toBe(i + 2);
      }

      // Now let it run: everything acknowledged finishes, exactly once, in submission order.
      await ok(second.url, ADMIN_TOKEN, `mutation { addProcessors(count: 1) { id } }`);
      const ws = wsClient(second.url, user.token);
      const stream = wsSubscribe<{ myQueue: { queuedCount: number; running: unknown[] } }>(
        ws,
        `subscription { myQueue { queuedCount running { jobId } } }`,
      );
      await stream.collect((m) => m.data!.myQueue.queuedCount === 0 && m.data!.myQueue.running.length === 0, 30_000);
      stream.unsubscribe();
      await ws.dispose();

      const { jobs } = await ok(second.url, user.token, `{ jobs(first: 100) { edges { node { jobId state attempts runMs startedAt } } } }`);
      const nodes = jobs.edges.map((e: any) => e.node);
      expect(nodes).toHaveLength(24);
      for (const node of nodes) {
        expect(node.state).toBe('SUCCEEDED');
        expect(node.attempts).toBe(1);
      }
      const longDone = nodes.find((n: any) => n.jobId === 'long');
      // The resumed run did only the remaining work, so the total is the job's duration.
      expect(longDone.runMs).toBeGreaterThanOrEqual(1499);
      const order = nodes
        .filter((n: any) => n.jobId !== 'long')
        .sort((a: any, b: any) => Date.parse(a.startedAt) - Date.parse(b.startedAt))
        .map((n: any) => n.jobId);
      expect(order.slice(0, 3)).toEqual(['next-1', 'next-2', 'next-3']);
      expect(await second.stop('SIGTERM')).toBe(0);
    });
  }

  it('applies migrations once: a restart on the same file applies none', async () => {
    const db = freshDb();
    const first = await spawnServer(db, { JOBLINE_PROCESSORS: '0' });
    expect(first.output()).toContain('migrations applied');
    expect(await first.stop('SIGTERM')).toBe(0);
    const second = await spawnServer(db, { JOBLINE_PROCESSORS: '0' });
    expect(second.output()).not.toContain('migrations applied');
    const ready = await fetch(second.url.replace('/graphql', '/readyz'));
    expect(ready.status).toBe(200);
    expect(await second.stop('SIGTERM')).toBe(0);
  });
});
