// Remote-processor scenarios: the worker SDK (src/worker/client.ts) over HTTP against a real
// server started with no built-in processors and rate limiting off (JOBLINE_RATE_LIMIT=0),
// so that they measure the server rather than its per-user limit.
//   7. claim→complete throughput: N worker processes with an instant handler drain 0-ms jobs
//      submitted in batches.
//   8. claim latency: one worker parked in a claimJob long poll; time from the start of the
//      submitJob request to the claim's answer reaching the worker (its handler starting).
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { runWorker } from '../src/worker/client.ts';
import { HttpClient } from './client.ts';
import { describeCpu, processCpuMs } from './cpu.ts';
import { fmtInt, fmtMs, percentile } from './report.ts';
import { withServer, type Ctx, type ScenarioResult } from './scenarios.ts';
import { ROOT } from './server.ts';

export interface RemoteBenchConfig {
  /** Scenario 7: timed jobs, worker processes, jobs per submitJobs call, untimed warm-up jobs. */
  remoteJobs: number;
  remoteWorkers: number;
  batchSize: number;
  warmup: number;
  /** Scenario 8: timed samples. */
  claimSamples: number;
}

const SERVER_ENV = { JOBLINE_RATE_LIMIT: '0' };
/** How long the worker's claimJob has been sent before scenario 8 submits the next job. */
const PARK_MS = 25;

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function processorToken(admin: HttpClient, name: string): Promise<string> {
  const data = await admin.request<{ createUser: { token: string } }>(
    'mutation($input: CreateUserInput!) { createUser(input: $input) { token } }',
    { input: { name, role: 'PROCESSOR' } },
  );
  return data.createUser.token;
}

async function submitBatches(user: HttpClient, prefix: string, count: number, batchSize: number): Promise<void> {
  for (let start = 0; start < count; start += batchSize) {
    const input = Array.from({ length: Math.min(batchSize, count - start) }, (_, i) => ({ jobId: `${prefix}-${start + i}`, durationMs: 0 }));
    await user.request('mutation($input: [SubmitJobInput!]!) { submitJobs(input: $input) { id } }', { input });
  }
}

/** Polls queueState every 50 ms until nothing is queued or running; returns the number of polls. */
async function drained(admin: HttpClient, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (let polls = 1; ; polls++) {
    const { queueState } = await admin.request<{ queueState: { queuedCount: number; runningCount: number } }>(
      'query { queueState { queuedCount runningCount } }',
    );
    if (queueState.queuedCount === 0 && queueState.runningCount === 0) return polls;
    if (performance.now() > deadline) throw new Error(`not drained after ${timeoutMs} ms: ${JSON.stringify(queueState)}`);
    await sleep(50);
  }
}

// ── worker processes ──────────────────────────────────────────────────────────────────

interface WorkerProcess {
  child: ChildProcess;
  ready: Promise<void>;
  /** SIGTERM (graceful stop); resolves with what the worker counted. */
  stop(): Promise<{ completed: number; failed: number }>;
  output(): string;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function spawnWorker(url: string, token: string, name: string): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/remote-worker.ts'], {
    cwd: ROOT,
    env: { ...process.env, BENCH_URL: url, BENCH_TOKEN: token, BENCH_WORKER_NAME: name },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    }),
  );
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (/^ready /m.test(stdout)) resolve();
    });
    void exited.then((code) => reject(new Error(`worker ${name} exited (${code}) before registering: ${stderr.slice(-500)}`)));
  });
  ready.catch(() => {}); // awaited by the scenario; an early exit after stop is not an error here
  return {
    child,
    ready,
    output: () => stderr,
    stop: async () => {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      const m = /completed (\d+) failed (\d+)/.exec(stdout);
      if (code !== 0 || !m) throw new Error(`worker ${name} stopped with code ${code}: ${stderr.slice(-500)}`);
      return { completed: Number(m[1]), failed: Number(m[2]) };
    },
  };
}

// ── 7. remote claim→complete throughput ───────────────────────────────────────────────

export function remoteThroughput(cfg: RemoteBenchConfig): Promise<ScenarioResult> {
  const { remoteJobs: total, remoteWorkers: count, batchSize, warmup } = cfg;
  return withServer(
    'remote throughput',
    `${fmtInt(total)} 0-ms jobs submitted in batches of ${fmtInt(batchSize)} to ${count} idle remote worker processes (SDK, instant handler, HTTP); 0 built-in processors; JOBLINE_RATE_LIMIT=0`,
    0,
    async (ctx: Ctx) => {
      const token = await processorToken(ctx.admin, 'bench-remote-workers');
      const workers = Array.from({ length: count }, (_, i) => spawnWorker(ctx.server.url, token, `bench-worker-${i}`));
      try {
        await Promise.all(workers.map((w) => w.ready));
        await submitBatches(ctx.user, 'warm', warmup, batchSize);
        await drained(ctx.admin, 120_000);
        await sleep(200); // every worker back in its long poll
        log(`remote throughput: ${count} workers ready, ${warmup} warm-up jobs done; timing ${total} jobs`);

        const workerCpu = () => workers.reduce((sum, w) => sum + processCpuMs(w.child.pid!), 0);
        const w0 = workerCpu();
        const cpu = ctx.meter();
        const t0 = performance.now();
        await submitBatches(ctx.user, 'job', total, batchSize);
        const submitSeconds = (performance.now() - t0) / 1000;
        const polls = await drained(ctx.admin, 10 * 60_000);
        const seconds = (performance.now() - t0) / 1000;
        const used = cpu();
        const workersMs = workerCpu() - w0;

        const counts = await Promise.all(workers.map((w) => w.stop()));
        const completed = counts.reduce((sum, c) => sum + c.completed, 0);
        const failed = counts.reduce((sum, c) => sum + c.failed, 0);
        if (completed !== warmup + total || failed > 0) {
          ctx.notes.push(`check failed: workers completed ${completed} jobs (${failed} failed or lost), expected ${warmup + total}`);
        }
        const spread = counts.map((c) => c.completed).sort((a, b) => a - b);
        return [
          {
            metric: `remote claim→complete throughput, ${count} worker processes`,
            value: `${fmtInt(total / seconds)} jobs/s`,
            detail:
              `${fmtInt(total)} jobs done in ${seconds.toFixed(2)} s from the first submit (submits took ${submitSeconds.toFixed(2)} s; ${polls} queueState polls); ` +
              `jobs per worker (warm-up included) ${spread[0]}–${spread[spread.length - 1]}; worker processes used ${Math.round((workersMs / used.wallMs) * 100)}% of a core (counted in "other")`,
            cpu: describeCpu(used, total),
          },
        ];
      } finally {
        await Promise.all(workers.map((w) => (w.child.exitCode === null ? w.stop().catch(() => undefined) : undefined)));
      }
    },
    SERVER_ENV,
  );
}

// ── 8. claim latency: submit → a parked claimJob answers ──────────────────────────────

export function claimLatency(cfg: RemoteBenchConfig): Promise<ScenarioResult> {
  const { claimSamples: samples } = cfg;
  const warmupJobs = Math.max(1, Math.min(20, cfg.warmup));
  return withServer(
    'claim latency',
    `${samples} sequential 0-ms jobs; one in-process SDK worker parked in claimJob (sent ≥ ${PARK_MS} ms before each submit); 0 built-in processors; JOBLINE_RATE_LIMIT=0`,
    0,
    async (ctx: Ctx) => {
      const token = await processorToken(ctx.admin, 'bench-claim-worker');
      let claims = 0;
      let claimSent: (() => void) | undefined;
      const arrivals = new Map<string, (at: number) => void>();
      let claimsAtArrival = 0;
      const worker = runWorker({
        url: ctx.server.url,
        token,
        name: 'bench-claim-latency',
        // Count claimJob requests as they leave, to submit only once the next one is parked.
        fetch: (input, init) => {
          if (typeof init?.body === 'string' && init.body.includes('claimJob')) {
            claims++;
            claimSent?.();
          }
          return fetch(input, init);
        },
        handler: async (job) => {
          const at = performance.now();
          claimsAtArrival = claims;
          arrivals.get(job.jobId)?.(at);
          return null;
        },
      });
      const nextClaimParked = async () => {
        while (claims <= claimsAtArrival) await new Promise<void>((resolve) => (claimSent = resolve));
        await sleep(PARK_MS);
      };
      /** [submit ack, claim arrival] in ms from just before the submit. */
      const runOne = async (jobId: string): Promise<[number, number]> => {
        await nextClaimParked();
        const arrived = new Promise<number>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no claim for ${jobId} within 10 s`)), 10_000);
          arrivals.set(jobId, (at) => (clearTimeout(timer), resolve(at)));
        });
        const t0 = performance.now();
        await ctx.user.request('mutation($input: SubmitJobInput!) { submitJob(input: $input) { id } }', { input: { jobId, durationMs: 0 } });
        const ack = performance.now() - t0;
        const at = await arrived;
        arrivals.delete(jobId);
        return [ack, at - t0];
      };
      try {
        for (let i = 0; i < warmupJobs; i++) await runOne(`warm-${i}`);
        log(`claim latency: ${warmupJobs} warm-up jobs done; timing ${samples} jobs`);
        const acks: number[] = [];
        const latencies: number[] = [];
        const cpu = ctx.meter();
        for (let i = 0; i < samples; i++) {
          const [ack, latency] = await runOne(`job-${i}`);
          acks.push(ack);
          latencies.push(latency);
        }
        const used = cpu();
        await drained(ctx.admin, 30_000);
        const before = latencies.filter((l, i) => l < acks[i]!).length;
        return [
          {
            metric: 'claim latency: submit → parked claimJob answers (p50/p99)',
            value: `${fmtMs(percentile(latencies, 50))} / ${fmtMs(percentile(latencies, 99))}`,
            detail:
              `${samples} samples, max ${fmtMs(Math.max(...latencies))}; submitJob ack p50/p99 ${fmtMs(percentile(acks, 50))} / ${fmtMs(percentile(acks, 99))}; ` +
              `the claim arrived before the submit's own answer in ${before} of ${samples}`,
            cpu: describeCpu(used, samples),
          },
        ];
      } finally {
        await worker.stop();
      }
    },
    SERVER_ENV,
  );
}
