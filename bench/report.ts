// Percentiles, number formatting, the machine description and the markdown table.
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function fmtInt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a';
}

export function fmtMs(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  return n >= 100 ? `${Math.round(n)} ms` : `${n.toFixed(n >= 10 ? 1 : 2)} ms`;
}

export function fmtMiB(kb: number): string {
  return Number.isFinite(kb) ? `${(kb / 1024).toFixed(0)} MiB` : 'n/a';
}

export function machine(): Array<[string, string]> {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1]!.trim();
  } catch {
    // not Linux: keep os.cpus()
  }
  return [
    ['CPU', cpu],
    ['Cores (logical)', String(os.cpus().length)],
    ['RAM', `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`],
    ['Node', process.version],
    ['OS', `${os.type()} ${os.release()} ${os.arch()}`],
    ['Load average (1/5/15 min) at start', os.loadavg().map((l) => l.toFixed(2)).join(' / ')],
  ];
}

export function markdownTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const esc = (cell: string) => cell.replace(/\|/g, '\\|');
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => esc(r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => esc(c).padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}
