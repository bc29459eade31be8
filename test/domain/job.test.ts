import { describe, expect, it } from 'vitest';
import {
  JOB_STATES,
  assertTransition,
  canTransition,
  segmentMs,
  isTerminal,
  progressOf,
  remainingMs,
  waitMsOf,
  type JobState,
} from '../../src/domain/job.ts';

// Written out from the diagram in the header of src/domain/job.ts, not from its table.
const DIAGRAM: Record<JobState, JobState[]> = {
  QUEUED: ['RUNNING', 'CANCELLED'],
  RUNNING: ['SUCCEEDED', 'FAILED', 'DEAD', 'QUEUED', 'CANCELLED'],
  SUCCEEDED: [],
  FAILED: ['QUEUED'],
  CANCELLED: [],
  DEAD: ['QUEUED'],
};

const pairs = JOB_STATES.flatMap((from) => JOB_STATES.map((to) => [from, to, DIAGRAM[from].includes(to)] as const));

describe('job state machine', () => {
  it.each(pairs.filter(([, , legal]) => legal))('allows %s → %s', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
    expect(() => assertTransition(from, to)).not.toThrow();
  });

  it.each(pairs.filter(([, , legal]) => !legal))('forbids %s → %s', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
    expect(() => assertTransition(from, to)).toThrow(`illegal job transition ${from} → ${to}`);
  });

  it('treats SUCCEEDED, FAILED, CANCELLED and DEAD as terminal, QUEUED and RUNNING as live', () => {
    const terminal = JOB_STATES.filter(isTerminal);
    expect(terminal.sort()).toEqual(['CANCELLED', 'DEAD', 'FAILED', 'SUCCEEDED']);
  });

  it('lets only DEAD and FAILED leave a terminal state (by retryJob)', () => {
    for (const from of JOB_STATES.filter(isTerminal)) {
      const exits = JOB_STATES.filter((to) => canTransition(from, to));
      expect(exits).toEqual(from === 'DEAD' || from === 'FAILED' ? ['QUEUED'] : []);
    }
  });
});

describe('time accounting', () => {
  it('measures the current segment of work', () => {
    expect(segmentMs({ segmentStart: 1_000 }, 1_250)).toBe(250);
  });

  it('clamps a backwards clock step to zero segment time', () => {
    expect(segmentMs({ segmentStart: 1_000 }, 900)).toBe(0);
  });

  it('reports the work left, never negative', () => {
    expect(remainingMs({ durationMs: 1_000, progressMs: 400 })).toBe(600);
    expect(remainingMs({ durationMs: 1_000, progressMs: 1_500 })).toBe(0);
    expect(remainingMs({ durationMs: 0, progressMs: 0 })).toBe(0);
  });

  it('reports progress as a fraction clamped to [0, 1]', () => {
    expect(progressOf(1_000, 250)).toBe(0.25);
    expect(progressOf(1_000, 5_000)).toBe(1);
    expect(progressOf(1_000, -10)).toBe(0);
  });

  it('reports 0 progress for a 0-ms job until it finishes', () => {
    expect(progressOf(0, 0)).toBe(0);
    expect(progressOf(0, 100)).toBe(0);
  });

  it('measures wait from submission to the start of the last attempt', () => {
    const job = { submittedAt: new Date(1_000), startedAt: new Date(4_000), finishedAt: new Date(5_000), state: 'SUCCEEDED' as const };
    expect(waitMsOf(job, 99_999)).toBe(3_000);
  });

  it('measures a queued job’s wait so far against now', () => {
    const job = { submittedAt: new Date(1_000), startedAt: null, finishedAt: null, state: 'QUEUED' as const };
    expect(waitMsOf(job, 1_700)).toBe(700);
    expect(waitMsOf(job, 2_700)).toBe(1_700);
  });

  it('clamps waits to zero when the clock stepped backwards', () => {
    expect(waitMsOf({ submittedAt: new Date(5_000), startedAt: new Date(4_000), finishedAt: null, state: 'RUNNING' }, 6_000)).toBe(0);
    expect(waitMsOf({ submittedAt: new Date(5_000), startedAt: null, finishedAt: null, state: 'QUEUED' }, 4_000)).toBe(0);
  });

  it('counts the wait of a job that ended without starting up to its end', () => {
    expect(
      waitMsOf({ submittedAt: new Date(1_000), startedAt: null, finishedAt: new Date(2_500), state: 'CANCELLED' }, 9_000),
    ).toBe(1_500);
  });
});
