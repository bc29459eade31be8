// The scheduler benchmarks alone (scenarios 5 and 6 of `npm run bench`), without servers:
//
//   node --import tsx bench/scheduler.ts
//
// BENCH_ONLY=5 or 6 picks one, BENCH_SCALE scales the larger queue sizes of scenario 5,
// BENCH_CPU_PROF=<dir> profiles scenario 5's timed decisions (see scheduler-worker.ts).
import { performance } from 'node:perf_hooks';
import { machine, markdownTable } from './report.ts';
import { schedulerCost } from './scheduler-cost.ts';
import { schedulerFairness } from './scheduler-fairness.ts';

const scale = Number(process.env.BENCH_SCALE?.trim() || 1);
if (!(scale > 0)) throw new Error(`BENCH_SCALE must be a positive number (got "${process.env.BENCH_SCALE}")`);
const onlyRaw = process.env.BENCH_ONLY?.trim();
const only = new Set(onlyRaw ? onlyRaw.split(',').map((s) => Number(s.trim())) : [5, 6]);

const started = performance.now();
const sections = [];
if (only.has(5)) sections.push(await schedulerCost(scale));
if (only.has(6)) sections.push(schedulerFairness());
const elapsed = (performance.now() - started) / 1000;

console.log(
  ['## Jobline scheduler benchmark', '', markdownTable(['Machine', ''], machine()), '', ...sections.map((s) => `${s.markdown}\n`)].join('\n') +
    `\nBENCH_SCALE=${scale}. Total ${elapsed.toFixed(1)} s.`,
);
process.exitCode = sections.every((s) => s.ok) ? 0 : 1;
