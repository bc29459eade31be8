import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JobLine } from '../../src/domain/job-line.ts';
import type { QueuedJob } from '../../src/domain/policy.ts';

const job = (id: number, priority = 3): QueuedJob => ({ id, userId: 'u', durationMs: 1, progressMs: 0, priority });
const order = (a: QueuedJob, b: QueuedJob) => b.priority - a.priority || a.id - b.id;

describe('JobLine', () => {
  it('starts by priority, then id, and ranks each job', () => {
    const line = new JobLine<QueuedJob>(true);
    const jobs = [job(1, 3), job(2, 5), job(3, 1), job(4, 5)];
    for (const j of jobs) line.insert(j);
    expect(jobs.map((j) => line.rank(j))).toEqual([2, 0, 3, 1]);
    expect(line.front()?.id).toBe(2);
    expect(line.first(3).map((j) => j.id)).toEqual([2, 4, 1]);
    expect(line.first(10).map((j) => j.id)).toEqual([2, 4, 1, 3]);
  });

  it('puts a re-queued older job back at its place, and erases from the middle', () => {
    const line = new JobLine<QueuedJob>(false);
    const [a, b, c] = [job(10), job(20), job(30)];
    line.insert(b);
    line.insert(c);
    line.insert(a); // older id: goes first
    expect(line.front()).toBe(a);
    expect(line.erase(b)).toBe(true);
    expect(line.erase(b)).toBe(false);
    expect(line.rank(c)).toBe(1);
    expect(line.size()).toBe(2);
  });

  it('agrees with a sorted list under random inserts, takes and erases (and compacts)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('insert', 'insert', 'take', 'erase'), fc.integer({ min: 1, max: 5 }), fc.nat()), {
          maxLength: 3000,
        }),
        fc.boolean(),
        (ops, byPriority) => {
          const line = new JobLine<QueuedJob>(byPriority);
          const model: QueuedJob[] = [];
          const sort = () => model.sort(byPriority ? order : (a, b) => a.id - b.id);
          let nextId = 1000;
          for (const [op, priority, pick] of ops) {
            if (op === 'insert') {
              // Mostly new (largest) ids; sometimes an older one, as a re-queued job has.
              const id = pick % 10 === 0 ? pick % 1000 + 0.5 + model.length * 1e-6 : nextId++;
              if (model.some((j) => j.id === id)) continue;
              const j = job(id, priority);
              line.insert(j);
              model.push(j);
              sort();
            } else if (op === 'take' && model.length > 0) {
              const first = model.shift()!;
              if (line.front() !== first || !line.erase(first)) return false;
            } else if (op === 'erase' && model.length > 0) {
              const [j] = model.splice(pick % model.length, 1);
              if (!line.erase(j!)) return false;
            }
            if (line.size() !== model.length || line.front() !== model[0]) return false;
          }
          return model.every((j, i) => line.rank(j) === i);
        },
      ),
      { numRuns: 60 },
    );
  });
});
