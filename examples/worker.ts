// A remote processor running your own code: it measures the size of the pages a job lists.
//   JOBLINE_TOKEN=<a PROCESSOR user's token> npx tsx examples/worker.ts [http://localhost:4000/graphql]
// Submit e.g. { jobId: "sizes-1", durationMs: 0, payload: { urls: ["https://example.com"] } }.
import { NonRetryableError, runWorker } from '../src/worker/client.ts';

const [url = 'http://localhost:4000/graphql'] = process.argv.slice(2);
const token = process.env.JOBLINE_TOKEN ?? '';

const worker = runWorker({
  url,
  token,
  log: console,
  handler: async (job, { signal, progress }) => {
    const urls = (job.payload as { urls?: unknown } | null)?.urls;
    if (!Array.isArray(urls)) throw new NonRetryableError('payload.urls must be a list of URLs'); // FAILED, no retry
    const sizes: Record<string, number> = {};
    for (const [i, page] of urls.entries()) {
      const response = await fetch(String(page), { signal }); // aborted if the lease is lost
      if (response.status >= 500) throw new Error(`${page}: HTTP ${response.status}`); // retried with backoff
      sizes[page] = (await response.arrayBuffer()).byteLength;
      progress((i + 1) / urls.length); // sent to the job's owner with the next heartbeat
    }
    return { sizes }; // the job's result
  },
});

// Ctrl-C: finish the current job and report it, then exit.
process.once('SIGINT', () => void worker.stop());
await worker.done;
