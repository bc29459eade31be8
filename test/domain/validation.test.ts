import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../src/domain/errors.ts';
import {
  canonicalJson,
  sameSpec,
  validateBatch,
  validateJob,
  validatePageSize,
  validateProcessorCount,
  validateUser,
  type Limits,
  type SubmitJobInput,
} from '../../src/domain/validation.ts';

const limits: Limits = {
  maxDurationMs: 60_000,
  maxPayloadBytes: 32,
  maxBatchSize: 3,
  maxPageSize: 100,
  maxAttempts: 5,
  defaultMaxAttempts: 2,
  maxProcessorsPerCall: 4,
  maxProcessors: 8,
};

/** Runs `fn`, expects a BadInputError, and checks its message and `details.field`. */
function expectBadInput(fn: () => unknown, field: string, message: string | RegExp = field): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(BadInputError);
  const error = caught as BadInputError;
  expect(error.code).toBe('BAD_USER_INPUT');
  expect(error.details.field).toBe(field);
  expect(error.message).toMatch(message);
}

const ok: SubmitJobInput = { jobId: 'job-1', durationMs: 1_000 };

describe('validateJob', () => {
  it('fills in defaults: no priority, no payload, the default attempt count', () => {
    expect(validateJob(ok, limits)).toEqual({ jobId: 'job-1', durationMs: 1_000, priority: null, payload: null, maxAttempts: 2 });
    expect(validateJob({ ...ok, priority: null, maxAttempts: null, payload: null }, limits)).toEqual(validateJob(ok, limits));
  });

  it('accepts jobIds of 1 and 128 characters from the allowed charset', () => {
    expect(validateJob({ ...ok, jobId: 'a' }, limits).jobId).toBe('a');
    expect(validateJob({ ...ok, jobId: '9' + 'x'.repeat(127) }, limits).jobId).toHaveLength(128);
    expect(validateJob({ ...ok, jobId: 'A1._:-z' }, limits).jobId).toBe('A1._:-z');
  });

  it.each([
    ['empty', ''],
    ['129 characters', 'a'.repeat(129)],
    ['leading dot', '.a'],
    ['leading dash', '-a'],
    ['space', 'a b'],
    ['slash', 'a/b'],
    ['non-ASCII letter', 'café'],
  ])('rejects a jobId that is %s', (_label, jobId) => {
    expectBadInput(() => validateJob({ ...ok, jobId }, limits), 'jobId');
  });

  it('accepts durationMs from 0 to the limit and rejects just past either end', () => {
    expect(validateJob({ ...ok, durationMs: 0 }, limits).durationMs).toBe(0);
    expect(validateJob({ ...ok, durationMs: 60_000 }, limits).durationMs).toBe(60_000);
    expectBadInput(() => validateJob({ ...ok, durationMs: -1 }, limits), 'durationMs', /durationMs.*0 to 60000.*got -1/);
    expectBadInput(() => validateJob({ ...ok, durationMs: 60_001 }, limits), 'durationMs', /got 60001/);
    expectBadInput(() => validateJob({ ...ok, durationMs: 1.5 }, limits), 'durationMs');
    expectBadInput(() => validateJob({ ...ok, durationMs: Number.NaN }, limits), 'durationMs');
  });

  it('accepts priority 1 to 5 and rejects 0 and 6', () => {
    expect(validateJob({ ...ok, priority: 1 }, limits).priority).toBe(1);
    expect(validateJob({ ...ok, priority: 5 }, limits).priority).toBe(5);
    expectBadInput(() => validateJob({ ...ok, priority: 0 }, limits), 'priority', /priority.*1 to 5/);
    expectBadInput(() => validateJob({ ...ok, priority: 6 }, limits), 'priority');
  });

  it('accepts maxAttempts 1 to the limit and rejects 0 and limit + 1', () => {
    expect(validateJob({ ...ok, maxAttempts: 1 }, limits).maxAttempts).toBe(1);
    expect(validateJob({ ...ok, maxAttempts: 5 }, limits).maxAttempts).toBe(5);
    expectBadInput(() => validateJob({ ...ok, maxAttempts: 0 }, limits), 'maxAttempts', /maxAttempts.*1 to 5/);
    expectBadInput(() => validateJob({ ...ok, maxAttempts: 6 }, limits), 'maxAttempts');
  });

  it('stores the payload as canonical JSON', () => {
    expect(validateJob({ ...ok, payload: { b: 1, a: [2, 1] } }, limits).payload).toBe('{"a":[2,1],"b":1}');
    expect(validateJob({ ...ok, payload: false }, limits).payload).toBe('false');
  });

  it('limits the payload by UTF-8 bytes of its canonical JSON', () => {
    // {"k":"…"} is 8 bytes of punctuation and key around the string.
    expect(validateJob({ ...ok, payload: { k: 'x'.repeat(24) } }, limits).payload).toHaveLength(32);
    expectBadInput(() => validateJob({ ...ok, payload: { k: 'x'.repeat(25) } }, limits), 'payload', /33 bytes.*limit is 32/);
    // 12 two-byte characters: 32 bytes, but only 20 UTF-16 code units.
    expect(validateJob({ ...ok, payload: { k: 'é'.repeat(12) } }, limits).payload).not.toBeNull();
    expectBadInput(() => validateJob({ ...ok, payload: { k: 'é'.repeat(12) + 'x' } }, limits), 'payload', /33 bytes/);
  });
});

describe('validateBatch', () => {
  it('validates every job and keeps their order', () => {
    const specs = validateBatch([ok, { ...ok, jobId: 'job-2', priority: 4 }], limits);
    expect(specs.map((s) => [s.jobId, s.priority])).toEqual([['job-1', null], ['job-2', 4]]);
  });

  it('rejects an empty batch and one past the size limit', () => {
    expect(validateBatch([ok, ok, ok], limits)).toHaveLength(3);
    expectBadInput(() => validateBatch([], limits), 'input', /at least one job/);
    expectBadInput(() => validateBatch([ok, ok, ok, ok], limits), 'input', /at most 3 jobs \(got 4\)/);
  });

  it('names the index of the offending job in the message and the field', () => {
    expectBadInput(
      () => validateBatch([ok, ok, { ...ok, durationMs: -5 }], limits),
      'input[2].durationMs',
      /^input\[2\]: durationMs must be/,
    );
  });
});

describe('canonicalJson and sameSpec', () => {
  it('sorts object keys recursively', () => {
    expect(canonicalJson({ b: 1, a: { d: 1, c: 2 } })).toBe(canonicalJson({ a: { c: 2, d: 1 }, b: 1 }));
    expect(canonicalJson({ b: 1, a: { d: 1, c: 2 } })).toBe('{"a":{"c":2,"d":1},"b":1}');
  });

  it('sorts keys inside arrays but keeps array order', () => {
    expect(canonicalJson([{ y: 1, x: 2 }, 3])).toBe('[{"x":2,"y":1},3]');
  });

  it('treats submissions as the same job only when every field matches', () => {
    const a = validateJob({ ...ok, payload: { b: 1, a: 2 } }, limits);
    expect(sameSpec(a, validateJob({ ...ok, payload: { a: 2, b: 1 } }, limits))).toBe(true);
    expect(sameSpec(a, { ...a, durationMs: a.durationMs + 1 })).toBe(false);
    expect(sameSpec(a, { ...a, priority: 3 })).toBe(false);
    expect(sameSpec(a, { ...a, payload: null })).toBe(false);
    expect(sameSpec(a, { ...a, maxAttempts: 3 })).toBe(false);
    expect(sameSpec(a, { ...a, jobId: 'job-2' })).toBe(false);
  });
});

describe('validatePageSize', () => {
  it('defaults to 50, capped by the page limit', () => {
    expect(validatePageSize(undefined, limits)).toBe(50);
    expect(validatePageSize(null, { ...limits, maxPageSize: 20 })).toBe(20);
  });

  it('accepts 1 to the limit and rejects 0 and limit + 1', () => {
    expect(validatePageSize(1, limits)).toBe(1);
    expect(validatePageSize(100, limits)).toBe(100);
    expectBadInput(() => validatePageSize(0, limits), 'first', /first.*1 to 100/);
    expectBadInput(() => validatePageSize(101, limits), 'first');
  });
});

describe('validateProcessorCount', () => {
  it('accepts 1 to the per-call limit and rejects 0 and limit + 1', () => {
    expect(validateProcessorCount(1, 0, limits)).toBe(1);
    expect(validateProcessorCount(4, 0, limits)).toBe(4);
    expectBadInput(() => validateProcessorCount(0, 0, limits), 'count', /count.*1 to 4/);
    expectBadInput(() => validateProcessorCount(5, 0, limits), 'count');
  });

  it('rejects a count that would take the total past the processor limit', () => {
    expect(validateProcessorCount(2, 6, limits)).toBe(2);
    expectBadInput(() => validateProcessorCount(3, 6, limits), 'count', /at most 8 .*there are 6; asked for 3 more/);
  });
});

describe('validateUser', () => {
  it('trims the name and keeps the other fields', () => {
    expect(validateUser({ id: 'alice', name: '  Alice  ', tier: 'pro', weight: 2, maxConcurrent: 3 })).toEqual({
      id: 'alice',
      name: 'Alice',
      tier: 'pro',
      weight: 2,
      maxConcurrent: 3,
    });
  });

  it('accepts ids of 1 and 64 characters and rejects 65, a leading dot, and a colon', () => {
    expect(validateUser({ id: 'a', name: 'n' }).id).toBe('a');
    expect(validateUser({ id: 'a'.repeat(64), name: 'n' }).id).toHaveLength(64);
    expectBadInput(() => validateUser({ id: 'a'.repeat(65), name: 'n' }), 'id', /^id must be/);
    expectBadInput(() => validateUser({ id: '.a', name: 'n' }), 'id');
    expectBadInput(() => validateUser({ id: 'a:b', name: 'n' }), 'id');
  });

  it('accepts names of 1 and 100 characters and rejects blank, 101, and control characters', () => {
    expect(validateUser({ name: 'x'.repeat(100) }).name).toHaveLength(100);
    expectBadInput(() => validateUser({ name: '   ' }), 'name', /name must be 1–100/);
    expectBadInput(() => validateUser({ name: 'x'.repeat(101) }), 'name');
    expectBadInput(() => validateUser({ name: 'a\u0007b' }), 'name');
  });

  it('accepts tiers of 1 and 64 characters and rejects empty and 65', () => {
    expect(validateUser({ name: 'n', tier: 't'.repeat(64) }).tier).toHaveLength(64);
    expectBadInput(() => validateUser({ name: 'n', tier: '' }), 'tier', /tier must be 1–64/);
    expectBadInput(() => validateUser({ name: 'n', tier: 't'.repeat(65) }), 'tier');
  });

  it('accepts weights above 0 up to 1000 and rejects 0, 1000.5 and infinity', () => {
    expect(validateUser({ name: 'n', weight: 0.001 }).weight).toBe(0.001);
    expect(validateUser({ name: 'n', weight: 1000 }).weight).toBe(1000);
    expectBadInput(() => validateUser({ name: 'n', weight: 0 }), 'weight', /weight must be/);
    expectBadInput(() => validateUser({ name: 'n', weight: 1000.5 }), 'weight');
    expectBadInput(() => validateUser({ name: 'n', weight: Number.POSITIVE_INFINITY }), 'weight');
  });

  it('accepts maxConcurrent 1 to 10000 and rejects 0 and 10001', () => {
    expect(validateUser({ name: 'n', maxConcurrent: 1 }).maxConcurrent).toBe(1);
    expect(validateUser({ name: 'n', maxConcurrent: 10_000 }).maxConcurrent).toBe(10_000);
    expectBadInput(() => validateUser({ name: 'n', maxConcurrent: 0 }), 'maxConcurrent', /maxConcurrent.*1 to 10000/);
    expectBadInput(() => validateUser({ name: 'n', maxConcurrent: 10_001 }), 'maxConcurrent');
  });
});
