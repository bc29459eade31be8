// GET /metrics in the Prometheus text format: queue gauges, processor counters and the
// write path's batching, enough to alert on a growing backlog or a stalled dispatcher.
import type { Dispatcher } from '../dispatcher/dispatcher.ts';
import type { GroupCommitter } from '../store/group-commit.ts';

export function renderMetrics(dispatcher: Dispatcher, committer: GroupCommitter<unknown>): string {
  const totals = dispatcher.totals();
  const processors = dispatcher.processorIds().map((id) => ({ id, ...dispatcher.liveProcessor(id)! }));
  const lines: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, samples: Array<[string, number]>) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
  };
  metric('jobline_jobs_queued', 'gauge', 'Jobs waiting for a processor.', [['', totals.queued]]);
  metric('jobline_jobs_running', 'gauge', 'Jobs running now.', [['', totals.running]]);
  metric('jobline_processors', 'gauge', 'Processors (built-in and remote) by state.', [
    ['{state="IDLE"}', processors.filter((p) => p.state === 'IDLE').length],
    ['{state="BUSY"}', processors.filter((p) => p.state === 'BUSY').length],
    ['{state="DRAINING"}', processors.filter((p) => p.state === 'DRAINING').length],
    ['{state="OFFLINE"}', processors.filter((p) => p.state === 'OFFLINE').length],
  ]);
  metric('jobline_claims_waiting', 'gauge', 'Remote processors waiting in a claimJob long poll.', [
    ['', dispatcher.waitingClaims()],
  ]);
  metric('jobline_jobs_backing_off', 'gauge', 'Queued jobs waiting out a retry backoff.', [['', totals.backingOff]]);
  metric(
    'jobline_processor_jobs_completed_total',
    'counter',
    'Jobs completed per processor.',
    processors.map((p) => [`{processor="${p.id}"}`, p.jobsCompleted]),
  );
  metric(
    'jobline_processor_busy_seconds_total',
    'counter',
    'Time spent running jobs per processor.',
    processors.map((p) => [`{processor="${p.id}"}`, p.busyMs / 1000]),
  );
  metric('jobline_commit_batches_total', 'counter', 'Transactions committed by the group committer.', [
    ['', committer.stats.batches],
  ]);
  metric('jobline_commit_writes_total', 'counter', 'Writes committed (several per batch under load).', [
    ['', committer.stats.writes],
  ]);
  return lines.join('\n') + '\n';
}
