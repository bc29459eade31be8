// Bounds on every input, with messages a user understands. Pure functions: the service
// layer calls them before anything touches the dispatcher or the database.
import { BadInputError } from './errors.ts';

export interface Limits {
  maxDurationMs: number;
  maxPayloadBytes: number;
  maxBatchSize: number;
  maxPageSize: number;
  maxAttempts: number;
  defaultMaxAttempts: number;
  maxProcessorsPerCall: number;
  maxProcessors: number;
}

export const JOB_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
export const USER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const MAX_NAME_LENGTH = 100;
export const MAX_TIER_LENGTH = 64;
export const MIN_WEIGHT = 0.001;
export const MAX_WEIGHT = 1000;
export const MAX_CONCURRENT_CAP = 10_000;
export const PRIORITY_MIN = 1;
export const PRIORITY_MAX = 5;
export const DEFAULT_PRIORITY = 3;

export interface SubmitJobInput {
  jobId: string;
  durationMs: number;
  userId?: string | null;
  priority?: number | null;
  payload?: unknown;
  maxAttempts?: number | null;
}

/** A submission after validation: what the dispatcher stores. */
export interface JobSpec {
  jobId: string;
  durationMs: number;
  priority: number | null;
  /** Canonical JSON text of the payload, or null. */
  payload: string | null;
  maxAttempts: number;
}

function fail(message: string, field: string, index?: number): never {
  const where = index === undefined ? '' : `input[${index}].`;
  throw new BadInputError(index === undefined ? message : `input[${index}]: ${message}`, { field: where + field });
}

function checkInt(value: unknown, field: string, min: number, max: number, index?: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(`${field} must be a whole number from ${min} to ${max} (got ${String(value)})`, field, index);
  }
  return value;
}

/** JSON text with object keys sorted, so equal payloads compare equal as strings. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** JSON text of an optional value within `maxBytes` (a processor's result); null when absent. */
export function jsonText(value: unknown, maxBytes: number, field: string): string | null {
  if (value === undefined || value === null) return null;
  const text = JSON.stringify(value);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) throw new BadInputError(`${field} is ${bytes} bytes as JSON; the limit is ${maxBytes}`, { field });
  return text;
}

export function validateJob(input: SubmitJobInput, limits: Limits, index?: number): JobSpec {
  if (typeof input.jobId !== 'string' || !JOB_ID_PATTERN.test(input.jobId)) {
    fail(
      'jobId must be 1–128 characters: letters, digits and . _ : - (starting with a letter or digit)',
      'jobId',
      index,
    );
  }
  const durationMs = checkInt(input.durationMs, 'durationMs', 0, limits.maxDurationMs, index);
  const priority =
    input.priority === undefined || input.priority === null
      ? null
      : checkInt(input.priority, 'priority', PRIORITY_MIN, PRIORITY_MAX, index);
  const maxAttempts =
    input.maxAttempts === undefined || input.maxAttempts === null
      ? limits.defaultMaxAttempts
      : checkInt(input.maxAttempts, 'maxAttempts', 1, limits.maxAttempts, index);
  let payload: string | null = null;
  if (input.payload !== undefined && input.payload !== null) {
    payload = canonicalJson(input.payload);
    const bytes = Buffer.byteLength(payload, 'utf8');
    if (bytes > limits.maxPayloadBytes) {
      fail(`payload is ${bytes} bytes as JSON; the limit is ${limits.maxPayloadBytes}`, 'payload', index);
    }
  }
  return { jobId: input.jobId, durationMs, priority, payload, maxAttempts };
}

export function validateBatch(inputs: readonly SubmitJobInput[], limits: Limits): JobSpec[] {
  if (inputs.length === 0) throw new BadInputError('input must hold at least one job', { field: 'input' });
  if (inputs.length > limits.maxBatchSize) {
    throw new BadInputError(`a batch holds at most ${limits.maxBatchSize} jobs (got ${inputs.length})`, {
      field: 'input',
    });
  }
  return inputs.map((input, index) => validateJob(input, limits, index));
}

/** Two submissions of one jobId are the same job when everything they say matches. */
export function sameSpec(a: JobSpec, b: JobSpec): boolean {
  return (
    a.jobId === b.jobId &&
    a.durationMs === b.durationMs &&
    a.priority === b.priority &&
    a.payload === b.payload &&
    a.maxAttempts === b.maxAttempts
  );
}

export function validatePageSize(first: number | null | undefined, limits: Limits): number {
  if (first === undefined || first === null) return Math.min(50, limits.maxPageSize);
  return checkInt(first, 'first', 1, limits.maxPageSize);
}

export function validateProcessorCount(count: number, current: number, limits: Limits): number {
  checkInt(count, 'count', 1, limits.maxProcessorsPerCall);
  if (current + count > limits.maxProcessors) {
    throw new BadInputError(
      `count: at most ${limits.maxProcessors} built-in processors may exist (there are ${current}; asked for ${count} more)`,
      { field: 'count' },
    );
  }
  return count;
}

export interface NewUserInput {
  id?: string | null;
  name: string;
  tier?: string | null;
  weight?: number | null;
  maxConcurrent?: number | null;
}

export function validateUser(input: NewUserInput): NewUserInput {
  if (input.id !== undefined && input.id !== null && !USER_ID_PATTERN.test(input.id)) {
    fail('id must be 1–64 characters: letters, digits and . _ - (starting with a letter or digit)', 'id');
  }
  const name = typeof input.name === 'string' ? input.name.trim() : '';
  if (name.length < 1 || name.length > MAX_NAME_LENGTH || /[\u0000-\u001f\u007f-\u009f]/.test(name)) {
    fail(`name must be 1–${MAX_NAME_LENGTH} printable characters`, 'name');
  }
  validateUserSettings(input);
  return { ...input, name };
}

export interface UserSettingsInput {
  tier?: string | null;
  weight?: number | null;
  maxConcurrent?: number | null;
}

/** Checks a user's tier and own settings; returns only the keys given (null clears). */
export function validateUserSettings(input: UserSettingsInput): UserSettingsInput {
  if (input.tier !== undefined && input.tier !== null && !/^[A-Za-z0-9._-]{1,64}$/.test(input.tier)) {
    fail(`tier must be 1–${MAX_TIER_LENGTH} characters: letters, digits and . _ -`, 'tier');
  }
  if (input.weight !== undefined && input.weight !== null) {
    if (!Number.isFinite(input.weight) || input.weight < MIN_WEIGHT || input.weight > MAX_WEIGHT) {
      fail(`weight must be a number from ${MIN_WEIGHT} to ${MAX_WEIGHT} (got ${input.weight})`, 'weight');
    }
  }
  if (input.maxConcurrent !== undefined && input.maxConcurrent !== null) {
    checkInt(input.maxConcurrent, 'maxConcurrent', 1, MAX_CONCURRENT_CAP);
  }
  const { tier, weight, maxConcurrent } = input;
  return Object.fromEntries(
    Object.entries({ tier, weight, maxConcurrent }).filter(([, value]) => value !== undefined),
  ) as UserSettingsInput;
}
