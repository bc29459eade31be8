// Spawns the Jobline server as a child process for one benchmark scenario: a fresh SQLite
// file in a temp directory, PORT=0 on 127.0.0.1, the port parsed from its "serving" line.
//
// `tsx src/main.ts` is a small node process that spawns the real server as a child node
// process (with tsx's loader), so the pid we spawned is not the one that serves. We find the
// process that owns the listening socket (socket inode from /proc/net/tcp matched against
// /proc/<pid>/fd of the spawned pid and its descendants) and read its VmHWM before stopping.
//
// Every spawned process is remembered; a process 'exit' hook SIGKILLs whatever is still
// alive, so an exception or Ctrl-C never leaves servers behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

export interface ServerOptions {
  processors: number;
  /** Extra environment (overrides). */
  env?: Record<string, string>;
  /**
   * Diagnostics only: run `node <nodeArgs> --import tsx src/main.ts` directly (one process)
   * instead of the tsx launcher, for node flags NODE_OPTIONS refuses (e.g. --cpu-prof).
   */
  nodeArgs?: string[];
}

export interface StopResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Time from SIGTERM to exit. */
  stopMs: number;
  /** True if the server did not exit within STOP_TIMEOUT_MS and was SIGKILLed. */
  killed: boolean;
}

export interface MemoryReading {
  /** Peak resident set (VmHWM) of the serving process, KiB. */
  servingHwmKb: number;
  /** Peak resident set of the tsx launcher process (the spawned pid), KiB; 0 if it is the server. */
  launcherHwmKb: number;
}

export interface RunningServer {
  url: string;
  wsUrl: string;
  port: number;
  /** The pid we spawned (tsx's launcher). */
  pid: number;
  /** The pid that owns the listening socket. */
  servingPid: number;
  memory(): MemoryReading;
  /** SIGTERM, then wait for the exit (SIGKILL after a timeout). Removes the temp directory. */
  stop(): Promise<StopResult>;
  /** Last lines of the server's stdout and stderr, for error reports. */
  output(): string;
}

interface Tracked {
  child: ChildProcess;
  servingPid?: number;
  dir: string;
}

const live = new Set<Tracked>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killQuietly(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** Last resort on any exit of the benchmark: nothing may outlive it. Synchronous by necessity. */
export function killAllServers(): void {
  for (const tracked of live) {
    killQuietly(tracked.servingPid, 'SIGKILL');
    killQuietly(tracked.child.pid, 'SIGKILL');
    for (const pid of tracked.child.pid ? descendants(tracked.child.pid) : []) killQuietly(pid, 'SIGKILL');
    try {
      rmSync(tracked.dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  live.clear();
}

process.on('exit', killAllServers);

/** All descendants of pid (children first), from /proc/<pid>/task/<tid>/children. */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const visit = (p: number) => {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const tid of tasks) {
      let text = '';
      try {
        text = readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const child of text.split(/\s+/).filter(Boolean).map(Number)) {
        out.push(child);
        visit(child);
      }
    }
  };
  visit(pid);
  return out;
}

/** Inodes of TCP sockets listening on `port` (IPv4 and IPv6 tables). */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const localPort = cols[1]!.split(':')[1];
      if (localPort === hexPort && cols[3] === '0A') inodes.add(cols[9]!);
    }
  }
  return inodes;
}

function ownsSocket(pid: number, inodes: Set<string>): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m && inodes.has(m[1]!)) return true;
    } catch {
      // fd closed meanwhile
    }
  }
  return false;
}

/** The process among pid and its descendants that holds the listening socket on `port`. */
function findServingPid(pid: number, port: number): number {
  const inodes = listeningInodes(port);
  const candidates = [pid, ...descendants(pid)];
  const owner = candidates.find((p) => ownsSocket(p, inodes));
  if (owner !== undefined) return owner;
  throw new Error(
    `no process among ${candidates.join(', ')} owns the listening socket on port ${port} (inodes: ${[...inodes].join(', ') || 'none'})`,
  );
}

/** VmHWM (peak RSS) of a process in KiB; NaN when unreadable. */
export function peakRssKb(pid: number): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'jobline-bench-'));
  const env: Record<string, string | undefined> = {
    ...process.env,
    DATABASE_URL: `file:${path.join(dir, 'bench.db')}`,
    PORT: '0',
    HOST: '127.0.0.1',
    JOBLINE_ADMIN_TOKEN: ADMIN_TOKEN,
    JOBLINE_PROCESSORS: String(options.processors),
    // Not "silent": at that level the server prints nothing, including the "serving" line
    // whose port we need. "info" prints only a handful of lines at start and stop.
    JOBLINE_LOG: 'info',
    // The benchmarks measure the server: one bench user submits far past the default
    // per-user rate limit (100 mutations/s), which would otherwise be what they measure.
    JOBLINE_RATE_LIMIT: '0',
    ...options.env,
  };
  // Run from node_modules/.bin directly (not npx), so the pid we hold is tsx itself.
  const [command, args] = options.nodeArgs
    ? [process.execPath, [...options.nodeArgs, '--import', 'tsx', 'src/main.ts']]
    : [path.join(ROOT, 'node_modules/.bin/tsx'), ['src/main.ts']];
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const tracked: Tracked = { child, dir };
  live.add(tracked);

  const lines: string[] = [];
  const remember = (stream: string) => (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      lines.push(`[${stream}] ${line}`);
      if (lines.length > 40) lines.shift();
    }
  };
  child.stderr!.on('data', remember('stderr'));

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });

  const port = await new Promise<number>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => {
      reject(new Error(`server did not print "serving" within ${START_TIMEOUT_MS} ms\n${lines.join('\n')}`));
    }, START_TIMEOUT_MS);
    child.stdout!.on('data', (chunk: Buffer) => {
      remember('stdout')(chunk);
      buffered += chunk.toString('utf8');
      const m = /serving http:\/\/[^:/\s]+:(\d+)\/graphql/.exec(buffered);
      if (m) {
        clearTimeout(timer);
        buffered = '';
        resolve(Number(m[1]));
      }
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited before serving (code ${code}, signal ${signal})\n${lines.join('\n')}`));
    });
  });

  const pid = child.pid!;
  const servingPid = findServingPid(pid, port);
  tracked.servingPid = servingPid;

  let stopped: Promise<StopResult> | undefined;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    port,
    pid,
    servingPid,
    memory: () => ({
      servingHwmKb: peakRssKb(servingPid),
      launcherHwmKb: servingPid === pid ? 0 : peakRssKb(pid),
    }),
    output: () => lines.join('\n'),
    stop: () =>
      (stopped ??= (async () => {
        const t0 = performance.now();
        // tsx forwards SIGTERM to the server it launched and exits with the server's status.
        killQuietly(pid, 'SIGTERM');
        let killed = false;
        const timeout = new Promise<'timeout'>((resolve) => {
          const t = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS);
          void exited.then(() => clearTimeout(t));
        });
        let result = await Promise.race([exited, timeout]);
        if (result === 'timeout') {
          killed = true;
          killQuietly(servingPid, 'SIGKILL');
          killQuietly(pid, 'SIGKILL');
          result = await exited;
        }
        const stopMs = performance.now() - t0;
        // The launcher is gone; make sure the serving process went with it.
        for (let i = 0; i < 50 && isAlive(servingPid); i++) await new Promise((r) => setTimeout(r, 100));
        if (isAlive(servingPid)) {
          killed = true;
          killQuietly(servingPid, 'SIGKILL');
        }
        live.delete(tracked);
        rmSync(dir, { recursive: true, force: true });
        return { ...result, stopMs, killed };
      })()),
  };
}
