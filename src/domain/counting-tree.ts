/**
 * A Fenwick (binary indexed) tree over non-negative integer keys: add or remove a key and
 * count the keys below a given one, each in O(log n). Queue positions come from it.
 * It grows by doubling when a larger key arrives.
 */
export class CountingTree {
  private tree: Int32Array;

  constructor(capacity = 1024) {
    this.tree = new Int32Array(capacity + 1);
  }

  /** Keys below this fit without growing. */
  get capacity(): number {
    return this.tree.length - 1;
  }

  add(key: number, delta: 1 | -1): void {
    if (key + 1 >= this.tree.length) this.grow(key + 1);
    for (let i = key + 1; i < this.tree.length; i += i & -i) this.tree[i]! += delta;
  }

  /** How many keys are strictly below `key`. */
  countBelow(key: number): number {
    let sum = 0;
    for (let i = Math.min(key, this.tree.length - 1); i > 0; i -= i & -i) sum += this.tree[i]!;
    return sum;
  }

  private grow(minLength: number): void {
    let length = this.tree.length;
    while (length <= minLength) length *= 2;
    // Rebuild: recover each key's count from prefix differences, then re-add in O(n).
    const old = this.tree;
    const counts = new Int32Array(length);
    for (let i = 1; i < old.length; i++) counts[i] = this.prefix(old, i) - this.prefix(old, i - 1);
    const tree = new Int32Array(length);
    for (let i = 1; i < length; i++) {
      tree[i]! += counts[i]!;
      const parent = i + (i & -i);
      if (parent < length) tree[parent]! += tree[i]!;
    }
    this.tree = tree;
  }

  private prefix(tree: Int32Array, index: number): number {
    let sum = 0;
    for (let i = index; i > 0; i -= i & -i) sum += tree[i]!;
    return sum;
  }
}
