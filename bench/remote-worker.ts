// One benchmark worker process (scenario 7): the worker SDK with an instant handler.
// Prints "ready <processorId>" once registered, and "completed <n> failed <m>" after a
// graceful stop on SIGTERM. Environment: BENCH_URL, BENCH_TOKEN, BENCH_WORKER_NAME.
import { runWorker } from '../src/worker/client.ts';

let completed = 0;
let failed = 0;
const worker = runWorker({
  url: process.env.BENCH_URL!,
  token: process.env.BENCH_TOKEN!,
  name: process.env.BENCH_WORKER_NAME,
  handler: async () => null,
  log: {
    info: (message, fields) => {
      if (message === 'done') completed++;
      else if (message === 'registered') console.log(`ready ${String(fields?.processor)}`);
    },
    warn: (message, fields) => {
      if (message === 'failed' || message === 'lease lost') failed++;
      console.error(`${message} ${JSON.stringify(fields ?? {})}`);
    },
    error: (message, fields) => console.error(`${message} ${JSON.stringify(fields ?? {})}`),
  },
});
process.on('SIGTERM', () => void worker.stop());
worker.done.then(
  () => {
    console.log(`completed ${completed} failed ${failed}`);
    process.exit(0);
  },
  (error: unknown) => {
    console.error(String(error));
    process.exit(1);
  },
);
