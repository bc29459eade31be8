// Faults with real processes: the server killed with SIGKILL in the middle of a burst of
// submissions while built-in and remote processors run jobs, then restarted on the same
// database; a remote processor killed while it holds a lease; and `npm run worker` failing
// a job until it is dead-lettered, then running it again once it is retried.
//
// What must hold: every acknowledged job exists and reaches SUCCEEDED exactly once (one
// accepted completion), and no two executions of one job overlap in time.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startApp, tempDir } from './helpers/app.ts';
import { codeOf, createUser, gql, ok, type TestUser } from './helpers/client.ts';
import { killAllServers, spawnServer, type ServerProcess } from './helpers/process.ts';
import type { ExecutionEvent } from './helpers/worker-process.ts';

const root = path.resolve(import.meta.dirname, '..');
const dirs: string[] = [];
const workers = new Set<ChildProcess>();

afterEach(async () => {
  await killAllServers();
  await Promise.all([...workers].map((child) => kill(child)));
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

function spawnWorker(url: string, token: string, name: string, log: string, env: Record<string, string> = {}): ChildProcess {
  return track(spawn(process.execPath, ['--import', 'tsx', 'test/helpers/worker-process.ts'], {
    cwd: root,
    env: { ...process.env, JOBLINE_URL: url, JOBLINE_TOKEN: token, WORKER_NAME: name, WORKER_LOG: log, JOBLINE_LOG: 'silent', ...env },
    stdio: 'ignore',
  }));
}

function track(child: ChildProcess): ChildProcess {
  workers.add(child);
  child.once('exit', () => workers.delete(child));
  return child;
}

function executions(log: string): ExecutionEvent[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ExecutionEvent);
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

async function until<T>(read: () => Promise<T>, check: (value: T) => boolean, what: string, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined && check(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

type JobRow = { jobId: string; state: string; attempts: number; result: { leaseId?: string } | null; processor: { kind: string } | null };

async function allJobs(url: string, token: string): Promise<JobRow[]> {
  const rows: JobRow[] = [];
  for (let after: string | null = null; ; ) {
    const page: { jobs: { edges: Array<{ node: JobRow }>; pageInfo: { hasNextPage: boolean; endCursor: string } } } = await ok(
      url,
      token,
      `query ($after: String) { jobs(first: 100, after: $after) {
        edges { node { jobId state attempts result processor { kind } } } pageInfo { hasNextPage endCursor } } }`,
      { after },
    );
    rows.push(...page.jobs.edges.map((e) => e.node));
    if (!page.jobs.pageInfo.hasNextPage) return rows;
    after = page.jobs.pageInfo.endCursor;
  }
}

describe('server killed with SIGKILL during a burst', () => {
  it('loses no acknowledged job, completes each exactly once, never overlaps two runs of a job — at several kill points', { timeout: 300_000 }, async () => {
    const dir = tempDir();
    dirs.push(dir);
    const db = path.join(dir, 'jobline.db');
    const log = path.join(dir, 'executions.log');
    const port = String(await freePort());
    const env = {
      PORT: port,
      JOBLINE_PROCESSORS: '2',
      JOBLINE_LEASE_MS: '20000', // longer than a restart: leases survive it
      JOBLINE_RATE_LIMIT: '0',
      JOBLINE_LOG: 'silent',
    };
    let server: ServerProcess = await spawnServer(db, env);
    const user: TestUser = await createUser(server.url, 'burst');
    const processorUser = await createUser(server.url, 'fleet', { role: 'PROCESSOR' });
    for (const name of ['remote-a', 'remote-b']) spawnWorker(server.url, processorUser.token, name, log);

    const acknowledged = new Set<string>();
    let sent = 0;
    // Three rounds: each kills the server after a different number of acknowledgements,
    // with submissions still in flight and jobs running on both kinds of processor.
    for (const [round, killAfter] of [5, 60, 150].entries()) {
      let stop = false;
      const submitter = async (lane: number) => {
        while (!stop) {
          const batch = Array.from({ length: lane === 0 ? 5 : 1 }, () => ({
            jobId: `r${round}-${sent++}`,
            durationMs: sent % 7 === 0 ? 300 : sent % 3,
          }));
          const result = await gql(
            server.url,
            user.token,
            `mutation ($input: [SubmitJobInput!]!) { submitJobs(input: $input) { jobId } }`,
            { input: batch },
          ).catch(() => undefined); // the server died under this request: not acknowledged
          if (!result?.data) return;
          for (const job of batch) acknowledged.add(job.jobId);
        }
      };
      const lanes = [0, 1, 2, 3].map(submitter);
      const target = acknowledged.size + killAfter;
      await until(async () => acknowledged.size, (n) => n >= target, `${target} acknowledged submissions`);
      await server.stop('SIGKILL');
      stop = true;
      await Promise.all(lanes);
      server = await spawnServer(db, env); // same port: the remote workers find it again
    }

    // Everything acknowledged finishes, on the restarted server.
    const jobs = await until(
      () => allJobs(server.url, user.token),
      (rows) => rows.every((row) => row.state === 'SUCCEEDED') && rows.length >= acknowledged.size,
      'every job to succeed',
      120_000,
    );
    const byJobId = new Map(jobs.map((row) => [row.jobId, row]));
    for (const jobId of acknowledged) expect(byJobId.get(jobId)?.state, jobId).toBe('SUCCEEDED');

    const events = executions(log);
    const remoteDone = jobs.filter((row) => row.processor?.kind === 'REMOTE');
    expect(remoteDone.length).toBeGreaterThan(0); // both kinds really took part
    expect(jobs.length - remoteDone.length).toBeGreaterThan(0);
    for (const row of remoteDone) {
      // Exactly one completion was accepted: the stored result names the lease whose run ended.
      const ended = events.filter((e) => e.jobId === row.jobId && e.event === 'end').map((e) => e.leaseId);
      expect(ended, row.jobId).toContain(row.result?.leaseId);
    }
    // No two executions of one job overlap in time.
    const runs = new Map<string, Array<{ start: number; end: number }>>();
    const started = new Map<string, number>();
    for (const e of events) {
      if (e.event === 'start') started.set(e.leaseId, e.at);
      else {
        const list = runs.get(e.jobId) ?? [];
        list.push({ start: started.get(e.leaseId)!, end: e.at });
        runs.set(e.jobId, list);
      }
    }
    for (const [jobId, list] of runs) {
      list.sort((a, b) => a.start - b.start);
      for (let i = 1; i < list.length; i++) expect(list[i]!.start, jobId).toBeGreaterThanOrEqual(list[i - 1]!.end);
    }
    // A job completed by a built-in processor was not also completed remotely.
    for (const row of jobs.filter((r) => r.processor?.kind === 'BUILTIN')) {
      expect(row.result, row.jobId).toBeNull();
    }
  });
});

describe('remote processor killed while it holds a lease', () => {
  it('the job is leased again after expiry and completes once; the dead processor’s late report is refused', { timeout: 120_000 }, async () => {
    const t = await startApp({ JOBLINE_PROCESSORS: '0', JOBLINE_LEASE_MS: '3000', JOBLINE_RETRY_BASE_MS: '10' });
    dirs.push(t.dir);
    try {
      const user = await createUser(t.url, 'owner');
      const fleet = await createUser(t.url, 'fleet', { role: 'PROCESSOR' });
      const log = path.join(t.dir, 'executions.log');
      await ok(t.url, user.token, `mutation { submitJob(input: { jobId: "orphan", durationMs: 200, maxAttempts: 3 }) { id } }`);

      // The first worker holds the job far longer than its duration, and is killed mid-run.
      const doomed = spawnWorker(t.url, fleet.token, 'doomed', log, { WORKER_HOLD_MS: '600000' });
      const first = await until(
        async () => executions(log).find((e) => e.event === 'start'),
        (e) => e !== undefined,
        'the first worker to start the job',
      );
      await kill(doomed);

      // Its lease runs out; the job waits out a backoff and a second worker finishes it.
      spawnWorker(t.url, fleet.token, 'rescuer', log);
      const job = await until(
        () => ok(t.url, user.token, `{ job(jobId: "orphan") { state attempts result processor { name } } }`),
        (data) => data.job.state === 'SUCCEEDED',
        'the job to succeed on the second worker',
      );
      expect(job.job).toMatchObject({ attempts: 2, processor: { name: 'rescuer' } });
      const second = executions(log).filter((e) => e.worker === 'rescuer' && e.event === 'end');
      expect(second).toHaveLength(1);
      expect(job.job.result).toMatchObject({ leaseId: second[0]!.leaseId, worker: 'rescuer' });

      // The dead worker's report arrives late (as from a paused process): refused, nothing changes.
      const late = await gql(t.url, fleet.token, `mutation ($l: ID!) { completeJob(leaseId: $l, result: "late") { state } }`, {
        l: first!.leaseId,
      });
      expect(codeOf(late)).toBe('CONFLICT');
      const after = await ok(t.url, user.token, `{ job(jobId: "orphan") { state attempts result } }`);
      expect(after.job).toMatchObject({ state: 'SUCCEEDED', attempts: 2, result: { worker: 'rescuer' } });
      const processors = (await ok(t.url, ADMIN_TOKEN, `{ queueState { processors { name state } } }`)).queueState.processors;
      expect(processors.find((p: { name: string }) => p.name === 'doomed')?.state).toBe('OFFLINE');
    } finally {
      await t.stop();
    }
  });
});

describe('npm run worker failing a job with retryable errors', () => {
  it('walks the backoff schedule to DEAD; retryJob revives it and it succeeds', { timeout: 120_000 }, async () => {
    const dir = tempDir();
    dirs.push(dir);
    const server = await spawnServer(path.join(dir, 'jobline.db'), {
      JOBLINE_PROCESSORS: '0',
      JOBLINE_RETRY_BASE_MS: '100',
      JOBLINE_RETRY_MAX_MS: '200',
      JOBLINE_LOG: 'silent',
    });
    const user = await createUser(server.url, 'owner');
    const fleet = await createUser(server.url, 'fleet', { role: 'PROCESSOR' });
    // The worker command exactly as the README runs it (npm's script is this node command).
    track(
      spawn(process.execPath, ['--import', 'tsx', 'src/worker/main.ts'], {
        cwd: root,
        env: { ...process.env, JOBLINE_URL: server.url, JOBLINE_TOKEN: fleet.token, JOBLINE_WORKER_NAME: 'sim', JOBLINE_LOG: 'silent' },
        stdio: 'ignore',
      }),
    );
    // Attempts 1–3 fail (retryable), so with maxAttempts 3 the job is dead-lettered; attempt 4 works.
    await ok(
      server.url,
      user.token,
      `mutation { submitJob(input: { jobId: "flaky", durationMs: 10, maxAttempts: 3, payload: { fail: "retryable", failAttempts: 3 } }) { id } }`,
    );
    const JOB = `{ job(jobId: "flaky") { state attempts error retryAt finishedAt processor { name } } }`;

    // A failure with attempts left is a QUEUED job that says why, and whose retryAt lies
    // within the backoff cap (200 ms) of the failure, which came before we looked.
    const seen: Array<{ attempts: number; error: string; retryAt: number; lookedAt: number }> = [];
    const dead = await until(
      async () => {
        const { job } = await ok(server.url, user.token, JOB);
        if (job.state === 'QUEUED' && job.retryAt) {
          seen.push({ attempts: job.attempts, error: job.error, retryAt: Date.parse(job.retryAt), lookedAt: Date.now() });
        }
        return job;
      },
      (job) => job.state === 'DEAD',
      'the job to be dead-lettered',
    );
    expect(dead).toMatchObject({ attempts: 3, processor: { name: 'sim' } });
    expect(dead.error).toMatch(/retryable.*attempt 3/);
    for (const { attempts, error, retryAt, lookedAt } of seen) {
      expect(error).toContain(`attempt ${attempts}`);
      expect(retryAt).toBeLessThanOrEqual(lookedAt + 200);
    }
    const dlq = await ok(server.url, user.token, `{ deadJobs { edges { node { jobId attempts } } } }`);
    expect(dlq.deadJobs.edges).toEqual([{ node: { jobId: 'flaky', attempts: 3 } }]);

    const revived = await ok(server.url, user.token, `mutation { retryJob(jobId: "flaky") { state } }`);
    expect(revived.retryJob.state).toBe('QUEUED');
    const done = await until(
      () => ok(server.url, user.token, `{ job(jobId: "flaky") { state attempts error result } }`),
      (data) => data.job.state === 'SUCCEEDED',
      'the retried job to succeed',
    );
    expect(done.job).toMatchObject({ attempts: 4, error: null });
    expect(done.job.result).toHaveProperty('workedMs');
    expect((await ok(server.url, user.token, `{ deadJobs { edges { node { jobId } } } }`)).deadJobs.edges).toEqual([]);
  });
});
