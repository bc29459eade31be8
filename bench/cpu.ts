// CPU accounting for a timed section: how much CPU the server, this benchmark process and
// everything else on the machine used. Benchmarks on a shared machine are only honest if
// they say how busy the machine was with other work meanwhile.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** Kernel clock ticks per second (USER_HZ); 100 on every mainstream Linux build. */
const TICK_MS = 10;

/** CPU time (user + system, all threads) of a process, ms; NaN if unreadable. */
export function processCpuMs(pid: number): number {
  try {
    // Fields after the ")" of the command name: state is index 0, utime 11, stime 12.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop()!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return NaN;
  }
}

/** Busy CPU time of the whole machine (all cores, excluding idle and iowait), ms. */
function machineBusyMs(): number {
  try {
    const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
    const [user, nice, system, , , irq, softirq, steal] = values.map(Number) as number[];
    return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) * TICK_MS;
  } catch {
    return NaN;
  }
}

function selfCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

export interface CpuSample {
  wallMs: number;
  /** CPU ms used by the server processes (serving + launcher). */
  serverMs: number;
  /** CPU ms used by this benchmark process (the clients). */
  clientMs: number;
  /** CPU ms used by everything else on the machine. */
  otherMs: number;
}

/** Starts measuring; call the returned function to get the totals since. */
export function cpuMeter(serverPids: readonly number[]): () => CpuSample {
  const server = () => serverPids.reduce((sum, pid) => sum + processCpuMs(pid), 0);
  const t0 = performance.now();
  const s0 = server();
  const c0 = selfCpuMs();
  const m0 = machineBusyMs();
  return () => {
    const serverMs = server() - s0;
    const clientMs = selfCpuMs() - c0;
    const machineMs = machineBusyMs() - m0;
    return {
      wallMs: performance.now() - t0,
      serverMs,
      clientMs,
      otherMs: Math.max(0, machineMs - serverMs - clientMs),
    };
  };
}

/** CPU per job of the server, and each party's CPU as % of one core over the wall time. */
export function describeCpu(sample: CpuSample, jobs: number): string {
  const pct = (ms: number) => `${Math.round((ms / sample.wallMs) * 100)}%`;
  return (
    `server CPU ${(sample.serverMs / jobs).toFixed(2)} ms/job (${pct(sample.serverMs)} of a core); ` +
    `bench client ${pct(sample.clientMs)}; other processes ${pct(sample.otherMs)}`
  );
}
