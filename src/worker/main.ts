// `npm run worker`: a remote processor that simulates work like a built-in one, for trying
// remote processors out (and a template for real ones: see examples/worker.ts).
//
// Environment: JOBLINE_TOKEN (required: a PROCESSOR or ADMIN user's token), JOBLINE_URL
// (default http://localhost:4000/graphql), JOBLINE_WORKER_NAME (default <hostname>-<pid>),
// JOBLINE_WORKER_WAIT_MS (claimJob long poll, default 30000), JOBLINE_WORKER_HEARTBEAT_MS
// (default: a third of the lease time left), JOBLINE_LOG (silent | info | debug).
//
// The job's payload steers the simulation: `{"fail": "retryable"}` fails the attempt after
// its work (retried until maxAttempts, then DEAD), `{"fail": "permanent"}` fails it for good,
// and `{"fail": "retryable", "failAttempts": 3}` fails attempts 1–3 only (a job that recovers
// once an operator retries it from the dead-letter queue).
// SIGTERM/SIGINT: finish the current job, report it, exit 0. A second signal: stop now.
import { createLogger, type LogLevel } from '../log.ts';
import { NonRetryableError, runWorker, type JobHandler } from './client.ts';
import { sleep } from './transport.ts';

const TICK_MS = 250;

/** What a job's payload may say to the simulation. */
interface Steering {
  fail?: unknown;
  /** With `fail: "retryable"`: fail only attempts 1 … failAttempts, then succeed. */
  failAttempts?: unknown;
}

/** Works for the job's duration, reporting progress; stops at once when aborted. */
const simulate: JobHandler = async (job, { signal, progress, attempt }) => {
  const total = job.durationMs;
  const t0 = Date.now();
  for (;;) {
    signal.throwIfAborted();
    const done = Math.min(total, Date.now() - t0);
    progress(total === 0 ? 1 : done / total);
    if (done >= total) break;
    await sleep(Math.min(TICK_MS, total - done), signal);
  }
  const steer = job.payload && typeof job.payload === 'object' && !Array.isArray(job.payload) ? (job.payload as Steering) : {};
  if (steer.fail === 'permanent') throw new NonRetryableError('simulated permanent failure (payload.fail = "permanent")');
  const failing = steer.fail === 'retryable' && (typeof steer.failAttempts !== 'number' || attempt <= steer.failAttempts);
  if (failing) throw new Error(`simulated failure (payload.fail = "retryable"), attempt ${attempt}`);
  return { workedMs: Date.now() - t0 };
};

function fail(message: string): never {
  console.error(`jobline-worker: ${message}`);
  process.exit(2);
}

function intEnv(name: string, fallback: number | undefined): number | undefined {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) fail(`${name} must be a whole number of milliseconds ≥ 0 (got "${raw}")`);
  return value;
}

const token = process.env.JOBLINE_TOKEN?.trim();
if (!token) {
  fail(
    'JOBLINE_TOKEN is not set. Create a processor user as an admin —\n' +
      '  mutation { createUser(input: { name: "worker", role: PROCESSOR }) { token } }\n' +
      'then run: JOBLINE_TOKEN=<its token> npm run worker',
  );
}
const url = process.env.JOBLINE_URL?.trim() || 'http://localhost:4000/graphql';
try {
  if (!/^https?:$/.test(new URL(url).protocol)) throw new Error();
} catch {
  fail(`JOBLINE_URL must be an http(s) URL (got "${url}")`);
}
const level = (process.env.JOBLINE_LOG?.trim() || 'info') as LogLevel;
if (!['silent', 'info', 'debug'].includes(level)) fail(`JOBLINE_LOG must be silent, info or debug (got "${level}")`);
const log = createLogger(level).scope('worker');

const worker = runWorker({
  url,
  token,
  name: process.env.JOBLINE_WORKER_NAME?.trim() || undefined,
  waitMs: intEnv('JOBLINE_WORKER_WAIT_MS', 30_000),
  heartbeatMs: intEnv('JOBLINE_WORKER_HEARTBEAT_MS', undefined) || undefined,
  handler: simulate,
  log,
});
log.info('started', { url, name: worker.name });

let signals = 0;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (signals++ === 0) {
      log.info(`${signal}: finishing the current job, then stopping (again to stop now)`);
      void worker.stop({ graceful: true });
    } else {
      log.info(`${signal}: stopping now`);
      void worker.stop({ graceful: false });
    }
  });
}

worker.done.then(
  () => {
    log.info('stopped');
    process.exit(0);
  },
  (error: unknown) => {
    // The worker logged why, unless logging is off.
    if (level === 'silent') console.error(`jobline-worker: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
