// Watch a job's live progress over graphql-ws:
//   JOBLINE_TOKEN=<token> npx tsx examples/watch.ts <jobId> [http://localhost:4000/graphql]
// Prints one line per event and exits when the job reaches a terminal state.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [jobId, url = 'http://localhost:4000/graphql'] = process.argv.slice(2);
const token = process.env.JOBLINE_TOKEN;
if (!jobId || !token) {
  console.error('usage: JOBLINE_TOKEN=<token> npx tsx examples/watch.ts <jobId> [url]');
  process.exit(2);
}

const client = createClient({
  url: url.replace(/^http/, 'ws'),
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${token}` },
});

let last = '';

type Event = { state: string; elapsedMs: number | null; progress: number | null; queuePosition: number | null };

client.subscribe<{ jobProgress: Event }>(
  {
    query: `subscription ($jobId: String!) {
      jobProgress(jobId: $jobId) { state elapsedMs progress queuePosition }
    }`,
    variables: { jobId },
  },
  {
    next: ({ data, errors }) => {
      if (errors) {
        console.error(`${errors[0]?.extensions?.code}: ${errors[0]?.message}`);
        process.exit(1);
      }
      const e = data!.jobProgress;
      const bar = e.progress === null ? '' : `[${'#'.repeat(Math.round(e.progress * 20)).padEnd(20)}] `;
      const where = e.state === 'QUEUED' ? `position ${e.queuePosition}` : e.elapsedMs !== null ? `${e.elapsedMs} ms` : '';
      const line = `${e.state.padEnd(9)} ${bar}${where}`;
      if (line !== last) console.log(line); // ticks that changed nothing are not worth a line
      last = line;
    },
    error: (error) => {
      console.error(error);
      process.exit(1);
    },
    complete: () => void client.dispose(),
  },
);
