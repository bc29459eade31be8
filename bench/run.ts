// `npm run bench`: Jobline's benchmark suite. Scenarios 1–4, 7 and 8 each run against their own
// server process on a fresh SQLite file; the results are printed as one markdown table on stdout
// (progress goes to stderr). Scenarios 5 and 6 measure the scheduling policy alone and print
// their own tables after it. 7 and 8 drive remote processors through the worker SDK
// (bench/remote.ts), with the server's rate limiting off (JOBLINE_RATE_LIMIT=0).
//
// Environment:
//   BENCH_SCALE=0.1            scales every count below and scenario 5's 100k and 1M queue sizes
//                              (quick smoke run); default 1
//   BENCH_ONLY=1,3             run only these scenarios (1 submitJob, 2 submitJobs, 3 latency, 4 drain,
//                              5 scheduler decision cost and memory, 6 scheduler fairness; 5 and 6
//                              need no server: bench/scheduler.ts runs them alone; 7 remote
//                              claim→complete throughput, 8 remote claim latency)
//   BENCH_SUBMIT_JOBS          scenario 1 jobs (default 5000 × scale)
//   BENCH_CONCURRENCY          scenario 1 concurrent clients (default 32)
//   BENCH_BATCH_CALLS          scenario 2 calls (default 20 × scale)
//   BENCH_BATCH_SIZE           jobs per submitJobs call, scenarios 2 and 4 (default 1000; server max 1000)
//   BENCH_LATENCY_JOBS         scenario 3 jobs (default 200 × scale)
//   BENCH_DRAIN_JOBS           scenario 4 jobs (default 10000 × scale)
//   BENCH_DRAIN_PROCESSORS     scenario 4 processors added (default 8)
//   BENCH_REMOTE_JOBS          scenario 7 jobs (default 5000 × scale; submitted BENCH_BATCH_SIZE at a time)
//   BENCH_REMOTE_WORKERS       scenario 7 worker processes (default 8)
//   BENCH_CLAIM_SAMPLES        scenario 8 samples (default 200 × scale)
//   BENCH_WARMUP               untimed warm-up jobs before scenarios 1, 3, 7 and 8 (default 200 × scale)
import { performance } from 'node:perf_hooks';
import { fmtMiB, machine, markdownTable } from './report.ts';
import { batchSubmits, drain, latency, singleSubmits, type BenchConfig, type ScenarioResult } from './scenarios.ts';
import { claimLatency, remoteThroughput, type RemoteBenchConfig } from './remote.ts';
import { killAllServers } from './server.ts';
import type { SchedulerSection } from './scheduler-common.ts';
import { schedulerCost } from './scheduler-cost.ts';
import { schedulerFairness } from './scheduler-fairness.ts';

function envNumber(name: string, fallback: number, min = 1): number {
  const raw = process.env[name]?.trim();
  if (!raw) return Math.max(min, Math.round(fallback));
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number ≥ ${min} (got "${raw}")`);
  return Math.round(value);
}

function loadConfig(): { config: BenchConfig; remote: RemoteBenchConfig; scale: number; only: Set<number> } {
  const scaleRaw = process.env.BENCH_SCALE?.trim();
  const scale = scaleRaw ? Number(scaleRaw) : 1;
  if (!Number.isFinite(scale) || scale <= 0) throw new Error(`BENCH_SCALE must be a positive number (got "${scaleRaw}")`);
  const onlyRaw = process.env.BENCH_ONLY?.trim();
  const only = new Set(onlyRaw ? onlyRaw.split(',').map((s) => Number(s.trim())) : [1, 2, 3, 4, 5, 6, 7, 8]);
  const config: BenchConfig = {
    submitJobs: envNumber('BENCH_SUBMIT_JOBS', 5000 * scale),
    concurrency: envNumber('BENCH_CONCURRENCY', 32),
    batchCalls: envNumber('BENCH_BATCH_CALLS', 20 * scale),
    batchSize: envNumber('BENCH_BATCH_SIZE', 1000),
    latencyJobs: envNumber('BENCH_LATENCY_JOBS', 200 * scale, 2),
    drainJobs: envNumber('BENCH_DRAIN_JOBS', 10_000 * scale),
    drainProcessors: envNumber('BENCH_DRAIN_PROCESSORS', 8),
    warmup: envNumber('BENCH_WARMUP', 200 * scale),
  };
  const remote: RemoteBenchConfig = {
    remoteJobs: envNumber('BENCH_REMOTE_JOBS', 5000 * scale),
    remoteWorkers: envNumber('BENCH_REMOTE_WORKERS', 8),
    batchSize: config.batchSize,
    warmup: config.warmup,
    claimSamples: envNumber('BENCH_CLAIM_SAMPLES', 200 * scale, 2),
  };
  return { config, remote, scale, only };
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stderr.write(`[bench] ${signal}: stopping servers\n`);
    killAllServers();
    process.exit(130);
  });
}

async function main(): Promise<number> {
  const { config, remote, scale, only } = loadConfig();
  const scenarios: Array<[number, (cfg: BenchConfig) => Promise<ScenarioResult>]> = [
    [1, singleSubmits],
    [2, batchSubmits],
    [3, latency],
    [4, drain],
    [7, () => remoteThroughput(remote)],
    [8, () => claimLatency(remote)],
  ];
  const host = machine();
  const started = performance.now();
  const results: ScenarioResult[] = [];
  for (const [n, run] of scenarios) {
    if (only.has(n)) results.push(await run(config));
  }
  // 5 and 6 exercise the scheduling policy alone and print their own tables.
  const sections: SchedulerSection[] = [];
  if (only.has(5)) sections.push(await schedulerCost(scale));
  if (only.has(6)) sections.push(schedulerFairness());
  const elapsed = (performance.now() - started) / 1000;

  const rows: string[][] = [];
  for (const r of results) {
    const rss = `${fmtMiB(r.startHwmKb ?? NaN)} → ${r.memory ? fmtMiB(r.memory.servingHwmKb) : 'n/a'}`;
    const failed = r.notes.find((n) => n.startsWith('FAILED'));
    if (failed || r.rows.length === 0) rows.push([r.name, r.setup, failed ?? 'FAILED', '', '', rss]);
    for (const row of r.rows) rows.push([row.metric, r.setup, row.value, row.detail, row.cpu, rss]);
  }
  const peaks = results.map((r) => r.memory?.servingHwmKb ?? NaN).filter(Number.isFinite);
  const launcher = results.map((r) => r.memory?.launcherHwmKb ?? NaN).filter(Number.isFinite);

  const out: string[] = [];
  out.push('## Jobline benchmark', '');
  out.push(markdownTable(['Machine', ''], host), '');
  if (results.length > 0) {
    out.push(
      markdownTable(['Metric', 'Setup', 'Result', 'Detail', 'CPU during the timed part', 'Server RSS: after start → peak (VmHWM)'], rows),
      '',
      `Peak RSS of the serving process, max over scenarios: ${peaks.length ? fmtMiB(Math.max(...peaks)) : 'n/a'}` +
        (launcher.length ? ` (tsx launcher process: ${fmtMiB(Math.max(...launcher))}, not included).` : '.'),
      `BENCH_SCALE=${scale}; untimed warm-up: ${config.warmup} jobs (scenario 1), one batch (2), ` +
        `${Math.max(1, Math.min(20, config.warmup))} jobs (3, 8), ${config.warmup} jobs (7). Client and server share the machine. Total ${elapsed.toFixed(1)} s.`,
    );
    if (only.has(7) || only.has(8)) {
      out.push(
        'Remote scenarios (7, 8) run with JOBLINE_RATE_LIMIT=0: rate limiting is off so that they measure the server, ' +
          'not the per-user limit; scenario 7\'s worker processes share the machine too.',
      );
    }
  }
  const notes = results.flatMap((r) => r.notes.filter((n) => !n.startsWith('FAILED')).map((n) => `- ${r.name}: ${n}`));
  if (notes.length > 0) out.push('', 'Notes:', ...notes);
  for (const section of sections) out.push('', section.markdown);
  if (results.length === 0) out.push('', `BENCH_SCALE=${scale}. Total ${elapsed.toFixed(1)} s.`);
  console.log(out.join('\n'));
  const failed = results.some((r) => r.notes.length > 0 || r.rows.length === 0) || sections.some((s) => !s.ok);
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    killAllServers();
    process.exitCode = 1;
  },
);
