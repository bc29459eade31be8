// The benchmark scenarios. Each starts its own server on a fresh database, measures one
// thing, checks the server ended up in the state the measurement implies, and stops it.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { HttpClient, createUser, createWsClient } from './client.ts';
import { cpuMeter, describeCpu, type CpuSample } from './cpu.ts';
import { ADMIN_TOKEN, startServer, type MemoryReading, type RunningServer, type StopResult } from './server.ts';
import { fmtInt, fmtMs, percentile } from './report.ts';

export interface BenchConfig {
  submitJobs: number;
  concurrency: number;
  batchCalls: number;
  batchSize: number;
  latencyJobs: number;
  drainJobs: number;
  drainProcessors: number;
  /** Jobs (or batches) run before timing starts, so tsx's compile and V8's JIT settle. */
  warmup: number;
}

export interface ScenarioResult {
  name: string;
  setup: string;
  rows: Array<{ metric: string; value: string; detail: string; cpu: string }>;
  /** VmHWM of the serving process right after it started listening, KiB. */
  startHwmKb?: number;
  memory?: MemoryReading;
  stop?: StopResult;
  /** Things worth reporting (failed checks, odd server behaviour). */
  notes: string[];
}

export interface Ctx {
  server: RunningServer;
  /** Starts CPU accounting of server, client and the rest of the machine. */
  meter(): () => CpuSample;
  admin: HttpClient;
  user: HttpClient;
  userToken: string;
  notes: string[];
}

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const SUBMIT_ONE = 'mutation($input: SubmitJobInput!) { submitJob(input: $input) { id state } }';
const SUBMIT_MANY = 'mutation($input: [SubmitJobInput!]!) { submitJobs(input: $input) { id } }';
const QUEUE_STATE = 'query { queueState { queuedCount runningCount processors { jobsCompleted } } }';

interface QueueState {
  queueState: { queuedCount: number; runningCount: number; processors: Array<{ jobsCompleted: number }> };
}

export async function withServer(
  name: string,
  setup: string,
  processors: number,
  body: (ctx: Ctx) => Promise<ScenarioResult['rows']>,
  /** Extra server environment. */
  env?: Record<string, string>,
): Promise<ScenarioResult> {
  log(`${name}: starting server (JOBLINE_PROCESSORS=${processors})`);
  // BENCH_CPU_PROF=<dir>: the server writes a V8 CPU profile to <dir>/<scenario>/ when it
  // exits (run as one `node --import tsx` process, since NODE_OPTIONS refuses --cpu-prof).
  const profDir = process.env.BENCH_CPU_PROF?.trim();
  const nodeArgs = profDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profDir, name)}`] : undefined;
  const launched = performance.now();
  const server = await startServer({ processors, nodeArgs, env });
  const startMs = performance.now() - launched;
  const notes: string[] = [];
  const result: ScenarioResult = { name, setup, rows: [], notes, startHwmKb: server.memory().servingHwmKb };
  try {
    const admin = new HttpClient(server.url, ADMIN_TOKEN);
    const { token } = await createUser(admin, `bench-${name.replace(/[^A-Za-z0-9]+/g, '-')}`);
    const user = new HttpClient(server.url, token);
    log(`${name}: serving on port ${server.port} after ${(startMs / 1000).toFixed(1)} s, pid ${server.servingPid} (launcher ${server.pid})`);
    const meter = () => cpuMeter([server.servingPid, server.pid]);
    result.rows = await body({ server, meter, admin, user, userToken: token, notes });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    notes.push(`FAILED: ${message}`);
    log(`${name}: FAILED: ${message}\n--- server output ---\n${server.output()}\n---`);
  } finally {
    result.memory = server.memory();
    result.stop = await server.stop();
    const { code, signal, stopMs, killed } = result.stop;
    log(`${name}: server stopped in ${stopMs.toFixed(0)} ms (code ${code}, signal ${signal})`);
    if (killed || code !== 0) {
      notes.push(
        `server did not stop cleanly on SIGTERM (code ${code}, signal ${signal}${killed ? ', had to SIGKILL' : ''}); last output:\n${server.output()}`,
      );
    }
  }
  return result;
}

function jobInputs(prefix: string, count: number, offset = 0) {
  return Array.from({ length: count }, (_, i) => ({ jobId: `${prefix}-${offset + i}`, durationMs: 0 }));
}

/** `count` single submitJob calls from `concurrency` clients; returns per-request latencies. */
async function submitConcurrently(client: HttpClient, prefix: string, count: number, concurrency: number): Promise<number[]> {
  const latencies: number[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const t0 = performance.now();
      await client.request(SUBMIT_ONE, { input: { jobId: `${prefix}-${i}`, durationMs: 0 } });
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return latencies;
}

async function queueState(admin: HttpClient): Promise<QueueState['queueState']> {
  return (await admin.request<QueueState>(QUEUE_STATE)).queueState;
}

function expectQueued(ctx: Ctx, state: QueueState['queueState'], expected: number): void {
  if (state.queuedCount !== expected) {
    ctx.notes.push(`check failed: queuedCount is ${state.queuedCount}, expected ${expected}`);
  }
}

// ── 1. single submitJob over HTTP, concurrent clients ─────────────────────────────────

export function singleSubmits(cfg: BenchConfig): Promise<ScenarioResult> {
  const { submitJobs: total, concurrency, warmup } = cfg;
  return withServer(
    'submitJob',
    `${fmtInt(total)} × submitJob, ${concurrency} concurrent HTTP clients, 0 processors`,
    0,
    async (ctx) => {
      await submitConcurrently(ctx.user, 'warm', warmup, concurrency);
      log(`submitJob: ${warmup} warm-up jobs done; timing ${total} jobs`);
      const cpu = ctx.meter();
      const t0 = performance.now();
      const latencies = await submitConcurrently(ctx.user, 'job', total, concurrency);
      const seconds = (performance.now() - t0) / 1000;
      const used = cpu();
      expectQueued(ctx, await queueState(ctx.admin), warmup + total);
      return [
        {
          metric: 'submitJob throughput',
          value: `${fmtInt(total / seconds)} jobs/s`,
          detail: `${fmtInt(total)} jobs in ${seconds.toFixed(2)} s; request latency p50 ${fmtMs(percentile(latencies, 50))}, p99 ${fmtMs(percentile(latencies, 99))}`,
          cpu: describeCpu(used, total),
        },
      ];
    },
  );
}

// ── 2. submitJobs batches ─────────────────────────────────────────────────────────────

export function batchSubmits(cfg: BenchConfig): Promise<ScenarioResult> {
  const { batchCalls, batchSize } = cfg;
  return withServer(
    'submitJobs',
    `${batchCalls} sequential submitJobs calls × ${fmtInt(batchSize)} jobs, 0 processors`,
    0,
    async (ctx) => {
      await ctx.user.request(SUBMIT_MANY, { input: jobInputs('warm', batchSize) });
      const batches = Array.from({ length: batchCalls }, (_, b) => jobInputs(`b${b}`, batchSize));
      log(`submitJobs: 1 warm-up batch done; timing ${batchCalls} batches`);
      const latencies: number[] = [];
      const cpu = ctx.meter();
      const t0 = performance.now();
      for (const input of batches) {
        const c0 = performance.now();
        const data = await ctx.user.request<{ submitJobs: unknown[] }>(SUBMIT_MANY, { input });
        latencies.push(performance.now() - c0);
        if (data.submitJobs.length !== input.length) {
          throw new Error(`submitJobs returned ${data.submitJobs.length} jobs for ${input.length}`);
        }
      }
      const seconds = (performance.now() - t0) / 1000;
      const used = cpu();
      const total = batchCalls * batchSize;
      expectQueued(ctx, await queueState(ctx.admin), total + batchSize);
      return [
        {
          metric: 'submitJobs throughput',
          value: `${fmtInt(total / seconds)} jobs/s`,
          detail: `${fmtInt(total)} jobs in ${seconds.toFixed(2)} s; per call p50 ${fmtMs(percentile(latencies, 50))}, max ${fmtMs(Math.max(...latencies))}`,
          cpu: describeCpu(used, total),
        },
      ];
    },
  );
}

// ── 3. submit→done latency on an idle processor ───────────────────────────────────────

interface Completed {
  jobCompleted: { jobId: string; state: string };
}

export function latency(cfg: BenchConfig): Promise<ScenarioResult> {
  const { latencyJobs: count } = cfg;
  const warmup = Math.max(1, Math.min(20, cfg.warmup));
  return withServer(
    'latency',
    `${count} sequential 0-ms jobs, 1 processor (idle at each submit); jobCompleted over graphql-ws`,
    1,
    async (ctx) => {
      const ws = createWsClient(ctx.server.wsUrl, ctx.userToken);
      const waiters = new Map<string, { resolve: (t: number) => void; reject: (e: Error) => void }>();
      const unexpected: string[] = [];
      let streamError: Error | undefined;
      const failAll = (error: Error) => {
        streamError = error;
        for (const w of waiters.values()) w.reject(error);
        waiters.clear();
      };
      const unsubscribe = ws.subscribe<Completed>(
        { query: 'subscription { jobCompleted { jobId state } }' },
        {
          next: (result) => {
            const t = performance.now();
            const job = result.data?.jobCompleted;
            if (!job) return failAll(new Error(`jobCompleted sent no data: ${JSON.stringify(result.errors ?? result)}`));
            if (job.state !== 'SUCCEEDED') unexpected.push(`${job.jobId}: ${job.state}`);
            const waiter = waiters.get(job.jobId);
            if (!waiter) return void unexpected.push(`${job.jobId}: completion nobody waited for`);
            waiters.delete(job.jobId);
            waiter.resolve(t);
          },
          error: (error) => failAll(error instanceof Error ? error : new Error(`graphql-ws: ${JSON.stringify(error)}`)),
          complete: () => failAll(new Error('jobCompleted stream ended')),
        },
      );

      /** Returns [submit ack, done] in ms from just before the submit; undefined on timeout. */
      const runOne = async (jobId: string, timeoutMs: number): Promise<[number, number] | undefined> => {
        if (streamError) throw streamError;
        const done = new Promise<number | undefined>((resolve, reject) => {
          const timer = setTimeout(() => {
            waiters.delete(jobId);
            resolve(undefined);
          }, timeoutMs);
          waiters.set(jobId, {
            resolve: (t) => (clearTimeout(timer), resolve(t)),
            reject: (e) => (clearTimeout(timer), reject(e)),
          });
        });
        const t0 = performance.now();
        await ctx.user.request(SUBMIT_ONE, { input: { jobId, durationMs: 0 } });
        const ack = performance.now() - t0;
        const t1 = await done;
        return t1 === undefined ? undefined : [ack, t1 - t0];
      };

      try {
        // graphql-ws has no "subscribed" acknowledgement, and jobCompleted sends nothing until
        // a job finishes; events published before the server registers the subscription are
        // not replayed. So probe: submit a job and wait for its completion; the first one that
        // arrives proves the subscription is live (misses before that are expected).
        let probes = 0;
        for (;;) {
          if (probes >= 20) throw new Error('jobCompleted delivered nothing for 20 probe jobs (2 s each)');
          if (await runOne(`probe-${probes++}`, 2000)) break;
        }
        for (let i = 0; i < warmup; i++) {
          if (!(await runOne(`warm-${i}`, 10_000))) throw new Error(`no jobCompleted for warm-${i} within 10 s`);
        }
        unexpected.length = 0; // late probe completions are not interesting
        log(`latency: subscription live after ${probes} probe job(s), ${warmup} warm-up jobs done; timing ${count} jobs`);
        const acks: number[] = [];
        const totals: number[] = [];
        const cpu = ctx.meter();
        for (let i = 0; i < count; i++) {
          const measured = await runOne(`job-${i}`, 10_000);
          if (!measured) throw new Error(`no jobCompleted for job-${i} within 10 s`);
          acks.push(measured[0]);
          totals.push(measured[1]);
        }
        const used = cpu();
        if (unexpected.length > 0) ctx.notes.push(`jobCompleted oddities: ${unexpected.slice(0, 5).join('; ')}`);

        const waits = await serverWaits(ctx.user, 'job-');
        if (waits.length !== count) ctx.notes.push(`check failed: listed ${waits.length} jobs, expected ${count}`);
        const afterAck = totals.map((t, i) => t - acks[i]!);
        return [
          {
            metric: 'submit→done latency, 0-ms job, idle processor (p50/p99)',
            value: `${fmtMs(percentile(totals, 50))} / ${fmtMs(percentile(totals, 99))}`,
            detail: `of which submitJob ack p50/p99 ${fmtMs(percentile(acks, 50))} / ${fmtMs(percentile(acks, 99))}, ack→jobCompleted p50/p99 ${fmtMs(percentile(afterAck, 50))} / ${fmtMs(percentile(afterAck, 99))}`,
            cpu: describeCpu(used, count),
          },
          {
            metric: 'server-side waitMs, submission→start (p50/p99)',
            value: `${fmtMs(percentile(waits, 50))} / ${fmtMs(percentile(waits, 99))}`,
            detail: `from jobs(first:100, after:) over ${waits.length} jobs; max ${fmtMs(Math.max(...waits))}`,
            cpu: '(same run)',
          },
        ];
      } finally {
        unsubscribe();
        await ws.dispose();
      }
    },
  );
}

interface JobsPage {
  jobs: {
    edges: Array<{ node: { jobId: string; state: string; waitMs: number | null } }>;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

/** waitMs of the caller's jobs whose jobId starts with `prefix`, read page by page. */
async function serverWaits(client: HttpClient, prefix: string): Promise<number[]> {
  const waits: number[] = [];
  let after: string | null = null;
  for (;;) {
    const page: JobsPage = await client.request<JobsPage>(
      `query($after: String) { jobs(first: 100, after: $after) {
         edges { node { jobId state waitMs } } pageInfo { hasNextPage endCursor } } }`,
      { after },
    );
    for (const { node } of page.jobs.edges) {
      if (!node.jobId.startsWith(prefix)) continue;
      if (node.waitMs === null) throw new Error(`job ${node.jobId} (${node.state}) has no waitMs`);
      waits.push(node.waitMs);
    }
    if (!page.jobs.pageInfo.hasNextPage) return waits;
    after = page.jobs.pageInfo.endCursor;
  }
}

// ── 4. drain a backlog ────────────────────────────────────────────────────────────────

export function drain(cfg: BenchConfig): Promise<ScenarioResult> {
  const { drainJobs: total, drainProcessors: processors, batchSize } = cfg;
  return withServer(
    'drain',
    `${fmtInt(total)} queued 0-ms jobs, then addProcessors(${processors}); queueState polled every 50 ms`,
    0,
    async (ctx) => {
      const s0 = performance.now();
      for (let start = 0; start < total; start += batchSize) {
        await ctx.user.request(SUBMIT_MANY, { input: jobInputs('d', Math.min(batchSize, total - start), start) });
      }
      const submitSeconds = (performance.now() - s0) / 1000;
      expectQueued(ctx, await queueState(ctx.admin), total);
      log(`drain: ${total} jobs queued in ${submitSeconds.toFixed(2)} s; adding ${processors} processors`);

      const cpu = ctx.meter();
      const t0 = performance.now();
      for (let left = processors; left > 0; left -= 100) {
        await ctx.admin.request('mutation($n: Int!) { addProcessors(count: $n) { id } }', { n: Math.min(100, left) });
      }
      const addMs = performance.now() - t0;
      let state = await queueState(ctx.admin);
      let polls = 1;
      const deadline = t0 + 10 * 60_000;
      while (state.queuedCount > 0 || state.runningCount > 0) {
        if (performance.now() > deadline) throw new Error(`drain not done after 10 min: ${JSON.stringify(state)}`);
        await sleep(50);
        state = await queueState(ctx.admin);
        polls++;
      }
      const seconds = (performance.now() - t0) / 1000;
      const used = cpu();
      const completed = state.processors.reduce((sum, p) => sum + p.jobsCompleted, 0);
      if (completed !== total) ctx.notes.push(`check failed: processors completed ${completed} jobs, expected ${total}`);
      return [
        {
          metric: `drain throughput, ${processors} processors`,
          value: `${fmtInt(total / seconds)} jobs/s`,
          detail: `${fmtInt(total)} jobs drained in ${seconds.toFixed(2)} s (${polls} polls; addProcessors ack ${fmtMs(addMs)}); backlog submitted in ${submitSeconds.toFixed(2)} s`,
          cpu: describeCpu(used, total),
        },
      ];
    },
  );
}
