import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CountingTree } from '../../src/domain/counting-tree.ts';

const naiveBelow = (keys: number[], key: number) => keys.filter((k) => k < key).length;

describe('CountingTree', () => {
  it('counts keys strictly below the given one', () => {
    const tree = new CountingTree();
    for (const k of [0, 3, 3, 7]) tree.add(k, 1);
    expect([0, 1, 3, 4, 7, 8, 1_000_000].map((k) => tree.countBelow(k))).toEqual([0, 1, 1, 3, 3, 4, 4]);
  });

  it('keeps its counts when a large key forces it to grow', () => {
    const tree = new CountingTree(4);
    for (const k of [1, 2, 4]) tree.add(k, 1);
    tree.add(10_000, 1);
    expect(tree.countBelow(3)).toBe(2);
    expect(tree.countBelow(5)).toBe(3);
    expect(tree.countBelow(10_000)).toBe(3);
    expect(tree.countBelow(10_001)).toBe(4);
  });

  it('always agrees with a naive count over a multiset', () => {
    // Each step adds a key, or removes the key at some index of the current multiset.
    const step = fc.oneof(
      fc.record({ add: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 50_000 })) }),
      fc.record({ remove: fc.nat() }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.array(step, { maxLength: 60, size: 'max' }),
        fc.array(fc.integer({ min: 0, max: 60_000 }), { maxLength: 10, size: 'max' }),
        (capacity, steps, probes) => {
          const tree = new CountingTree(capacity);
          const keys: number[] = [];
          for (const s of steps) {
            if ('add' in s) {
              tree.add(s.add, 1);
              keys.push(s.add);
            } else if (keys.length > 0) {
              const [key] = keys.splice(s.remove % keys.length, 1);
              tree.add(key!, -1);
            }
            const all = [0, 1, ...keys, ...keys.map((k) => k + 1), ...probes];
            expect(all.map((k) => tree.countBelow(k))).toEqual(all.map((k) => naiveBelow(keys, k)));
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
