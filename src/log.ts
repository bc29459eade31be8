// A tiny scoped logger: one line per event, JSON fields after the message. Enough for a
// single service; swap for pino if logs ever need shipping.
export type LogLevel = 'silent' | 'info' | 'debug';

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
  scope(label: string): Logger;
}

export function createLogger(level: LogLevel, label = 'jobline'): Logger {
  const line = (kind: string, message: string, fields?: Record<string, unknown>) =>
    `${new Date().toISOString()} ${kind} [${label}] ${message}${fields ? ' ' + JSON.stringify(fields) : ''}`;
  const quiet = level === 'silent';
  return {
    info: (m, f) => void (quiet || console.log(line('INFO', m, f))),
    warn: (m, f) => void (quiet || console.warn(line('WARN', m, f))),
    error: (m, f) => void (quiet || console.error(line('ERROR', m, f))),
    debug: (m, f) => void (level === 'debug' && console.log(line('DEBUG', m, f))),
    scope: (sub) => createLogger(level, `${label}:${sub}`),
  };
}
