import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Heap } from '../../src/domain/heap.ts';

const numeric = () => new Heap<number>((a, b) => a < b);

describe('Heap', () => {
  it('is empty at first', () => {
    const heap = numeric();
    expect(heap.size).toBe(0);
    expect(heap.peek()).toBeUndefined();
    expect(heap.pop()).toBeUndefined();
  });

  it('pops pushed numbers in sorted order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1_000, max: 1_000 }), { maxLength: 300, size: 'max' }), (values) => {
        const heap = numeric();
        for (const v of values) heap.push(v);
        expect(heap.size).toBe(values.length);
        const out: number[] = [];
        while (heap.size > 0) out.push(heap.pop()!);
        expect(out).toEqual([...values].sort((a, b) => a - b));
      }),
    );
  });

  it('matches a sorted reference under interleaved push and pop', () => {
    const op = fc.oneof(fc.integer({ min: -50, max: 50 }).map((v) => ({ push: v })), fc.constant({ pop: true as const }));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200, size: 'max' }), (ops) => {
        const heap = numeric();
        const reference: number[] = [];
        for (const o of ops) {
          if ('push' in o) {
            heap.push(o.push);
            reference.push(o.push);
            reference.sort((a, b) => a - b);
          } else {
            expect(heap.pop()).toBe(reference.shift());
          }
          expect(heap.size).toBe(reference.length);
          expect(heap.peek()).toBe(reference[0]);
        }
      }),
    );
  });
});
