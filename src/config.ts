// Every setting in one typed, validated place, read once from the environment. Defaults
// work on a laptop: `npm start` with no variables at all serves on port 4000 with an
// SQLite file under ./data/.
import path from 'node:path';
import type { AutoscaleSettings } from './domain/autoscale.ts';
import { POLICY_NAMES, type PolicyName } from './domain/policy.ts';
import type { Limits } from './domain/validation.ts';

export interface Config {
  port: number;
  host: string;
  /** `file:<path>` (SQLite). */
  databaseUrl: string;
  /** SQLite `synchronous` in WAL mode: NORMAL survives process crashes, FULL also power loss. */
  sqliteSynchronous: 'NORMAL' | 'FULL';
  adminToken: string | undefined;
  /** Built-in processors at start. */
  processors: number;
  progressIntervalMs: number;
  /** Remote processors: a lease lasts this long unless a heartbeat renews it. */
  leaseMs: number;
  /** Longest a `claimJob` long poll may wait. */
  maxClaimWaitMs: number;
  /** Retry backoff after a failed or expired attempt: base × 2^(attempt−1), capped, with full jitter. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** Mutations per second per user (token bucket; 0 = unlimited). Admins are not limited. */
  rateLimit: { perSecond: number; burst: number };
  /** The same for PROCESSOR tokens (a fleet of workers often shares one). */
  processorRateLimit: { perSecond: number; burst: number };
  /** Most subscriptions one graphql-ws connection may hold open at once. */
  maxSubscriptionsPerConnection: number;
  /** Most live streams one user may hold open at once, over all connections (WS and SSE). */
  maxStreamsPerUser: number;
  /** Most queued jobs a `myQueue` snapshot lists (the count is always exact). */
  myQueueLimit: number;
  /** Max bytes of an HTTP request body. */
  maxBodyBytes: number;
  limits: Limits;
  /** Scheduling policy at start; undefined = the one last set by an admin (default weighted-fair). */
  policy: PolicyName | undefined;
  /** JSON rules applied at every start, replacing the stored ones. */
  rulesFile: string | undefined;
  /** Autoscaling from the environment (applied at start); undefined = as last set by an admin. */
  autoscale: AutoscaleSettings | undefined;
  /** How often the autoscaler looks at the queue. */
  autoscaleIntervalMs: number;
  logLevel: 'silent' | 'info' | 'debug';
}

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max} (got "${raw}")`);
  }
  return value;
}

function oneOf<T extends string>(env: Env, name: string, fallback: T, allowed: readonly T[]): T {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = allowed.find((a) => a.toLowerCase() === raw.toLowerCase());
  if (!value) throw new ConfigError(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
  return value;
}

export function defaultDatabaseUrl(cwd = process.cwd()): string {
  return `file:${path.join(cwd, 'data', 'jobline.db')}`;
}

export function loadConfig(env: Env = process.env): Config {
  const databaseUrl = env.DATABASE_URL?.trim() || defaultDatabaseUrl();
  if (!databaseUrl.startsWith('file:')) {
    throw new ConfigError(`DATABASE_URL must be file:<path> for SQLite (got "${databaseUrl.split(':')[0]}:…")`);
  }
  const adminToken = env.JOBLINE_ADMIN_TOKEN?.trim() || undefined;
  if (adminToken !== undefined && adminToken.length < 16) {
    throw new ConfigError('JOBLINE_ADMIN_TOKEN must be at least 16 characters');
  }
  return {
    port: int(env, 'PORT', 4000, 0, 65535),
    host: env.HOST?.trim() || '0.0.0.0',
    databaseUrl,
    sqliteSynchronous: oneOf(env, 'JOBLINE_SQLITE_SYNCHRONOUS', 'NORMAL', ['NORMAL', 'FULL'] as const),
    adminToken,
    processors: int(env, 'JOBLINE_PROCESSORS', 1, 0, 1000),
    progressIntervalMs: int(env, 'JOBLINE_PROGRESS_INTERVAL_MS', 1000, 10, 60_000),
    leaseMs: int(env, 'JOBLINE_LEASE_MS', 30_000, 100, 3_600_000),
    maxClaimWaitMs: int(env, 'JOBLINE_MAX_CLAIM_WAIT_MS', 60_000, 0, 600_000),
    retryBaseMs: int(env, 'JOBLINE_RETRY_BASE_MS', 1000, 0, 3_600_000),
    retryMaxMs: int(env, 'JOBLINE_RETRY_MAX_MS', 300_000, 0, 24 * 3_600_000),
    rateLimit: rateLimitOf(env, 'JOBLINE_RATE_LIMIT', 'JOBLINE_RATE_BURST', 100),
    processorRateLimit: rateLimitOf(env, 'JOBLINE_PROCESSOR_RATE_LIMIT', 'JOBLINE_PROCESSOR_RATE_BURST', 2000),
    maxSubscriptionsPerConnection: int(env, 'JOBLINE_MAX_SUBSCRIPTIONS', 100, 1, 10_000),
    maxStreamsPerUser: int(env, 'JOBLINE_MAX_STREAMS_PER_USER', 200, 1, 100_000),
    myQueueLimit: int(env, 'JOBLINE_MY_QUEUE_LIMIT', 100, 1, 1000),
    maxBodyBytes: int(env, 'JOBLINE_MAX_BODY_BYTES', 4 * 1024 * 1024, 1024, 64 * 1024 * 1024),
    limits: {
      maxDurationMs: int(env, 'JOBLINE_MAX_DURATION_MS', 24 * 3_600_000, 1, 2_147_483_647),
      maxPayloadBytes: int(env, 'JOBLINE_MAX_PAYLOAD_BYTES', 64 * 1024, 0, 1024 * 1024),
      maxBatchSize: int(env, 'JOBLINE_MAX_BATCH', 1000, 1, 10_000),
      maxPageSize: 100,
      maxAttempts: 100,
      defaultMaxAttempts: int(env, 'JOBLINE_DEFAULT_MAX_ATTEMPTS', 3, 1, 100),
      maxProcessorsPerCall: 100,
      maxProcessors: 1000,
    },
    policy: env.JOBLINE_POLICY?.trim() ? oneOf(env, 'JOBLINE_POLICY', 'weighted-fair', POLICY_NAMES) : undefined,
    rulesFile: env.JOBLINE_RULES_FILE?.trim() || undefined,
    autoscale: env.JOBLINE_AUTOSCALE_MAX?.trim()
      ? {
          enabled: true,
          min: int(env, 'JOBLINE_AUTOSCALE_MIN', 1, 0, 1000),
          max: int(env, 'JOBLINE_AUTOSCALE_MAX', 8, 1, 1000),
          targetBacklog: int(env, 'JOBLINE_AUTOSCALE_TARGET_BACKLOG', 10, 1, 1_000_000),
          scaleDownDelayMs: int(env, 'JOBLINE_AUTOSCALE_SCALE_DOWN_DELAY_MS', 30_000, 0, 24 * 3_600_000),
        }
      : undefined,
    autoscaleIntervalMs: int(env, 'JOBLINE_AUTOSCALE_INTERVAL_MS', 1000, 10, 60_000),
    logLevel: oneOf(env, 'JOBLINE_LOG', 'info', ['silent', 'info', 'debug'] as const),
  };
}

function rateLimitOf(env: Env, rateName: string, burstName: string, fallback: number): Config['rateLimit'] {
  const perSecond = int(env, rateName, fallback, 0, 1_000_000);
  return { perSecond, burst: int(env, burstName, Math.max(1, 2 * perSecond), 1, 10_000_000) };
}
