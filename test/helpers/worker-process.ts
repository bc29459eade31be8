// A remote processor as a child process, for fault tests: the SDK with a handler that works
// for the job's duration and appends what it did to a log file, one JSON line per event,
// so a test can see every execution even after killing this process.
//
//   node --import tsx test/helpers/worker-process.ts   (env: JOBLINE_URL, JOBLINE_TOKEN,
//   WORKER_NAME, WORKER_LOG, WORKER_HOLD_MS: work this long instead of durationMs)
import { appendFileSync } from 'node:fs';
import { runWorker } from '../../src/worker/client.ts';
import { sleep } from '../../src/worker/transport.ts';

export interface ExecutionEvent {
  event: 'start' | 'end' | 'aborted';
  worker: string;
  jobId: string;
  leaseId: string;
  attempt: number;
  at: number;
}

const name = process.env.WORKER_NAME ?? `worker-${process.pid}`;
const logFile = process.env.WORKER_LOG!;
const holdMs = process.env.WORKER_HOLD_MS ? Number(process.env.WORKER_HOLD_MS) : undefined;

function record(event: Omit<ExecutionEvent, 'worker' | 'at'>): void {
  appendFileSync(logFile, JSON.stringify({ ...event, worker: name, at: Date.now() }) + '\n');
}

const worker = runWorker({
  url: process.env.JOBLINE_URL!,
  token: process.env.JOBLINE_TOKEN!,
  name,
  waitMs: 5000,
  handler: async (job, { signal, leaseId, attempt }) => {
    const at = { jobId: job.jobId, leaseId, attempt };
    record({ event: 'start', ...at });
    try {
      await sleep(holdMs ?? job.durationMs, signal);
    } catch (error) {
      record({ event: 'aborted', ...at });
      throw error;
    }
    record({ event: 'end', ...at });
    return { leaseId, worker: name };
  },
});
console.log(`worker ${name} running`);
process.once('SIGTERM', () => void worker.stop());
await worker.done;
