import { describe, expect, it } from 'vitest';
import { GroupCommitter } from '../../src/store/group-commit.ts';

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** One turn of the event loop: lets an already scheduled flush start. Not a timed wait. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A stand-in for a database: each transaction collects the names written into it and is
 * recorded as a batch only if it commits. `gate`, when set, holds the commit open.
 * A transaction holding a write named 'reject-at-commit' fails at commit time.
 */
function fakeDatabase() {
  const db = {
    batches: [] as string[][],
    transactions: 0,
    gate: undefined as Promise<void> | undefined,
    started: deferred(),
  };
  const committer = new GroupCommitter<string[]>(async (work) => {
    db.transactions++;
    db.started.resolve();
    const tx: string[] = [];
    const out = await work(tx);
    if (db.gate) await db.gate;
    if (tx.includes('reject-at-commit')) throw new Error('constraint violated');
    db.batches.push(tx);
    return out;
  });
  return { db, committer };
}

const put = (committer: GroupCommitter<string[]>, name: string) =>
  committer.write(async (tx) => {
    if (name.startsWith('throw')) throw new Error(`bad write ${name}`);
    tx.push(name);
    return name.toUpperCase();
  });

describe('GroupCommitter', () => {
  it('commits writes issued in the same tick as one batch, in issue order', async () => {
    const { db, committer } = fakeDatabase();
    const slow = committer.write(async (tx) => {
      await Promise.resolve();
      await Promise.resolve();
      tx.push('slow');
      return 1;
    });
    const results = await Promise.all([slow, put(committer, 'b'), put(committer, 'c')]);
    expect(results).toEqual([1, 'B', 'C']);
    expect(db.batches).toEqual([['slow', 'b', 'c']]);
    expect(committer.stats).toEqual({ batches: 1, writes: 3 });
  });

  it('puts writes issued while a batch is committing in the next batch', async () => {
    const { db, committer } = fakeDatabase();
    const gate = deferred();
    db.gate = gate.promise;
    const first = put(committer, 'a');
    await db.started.promise;
    const later = [put(committer, 'b'), put(committer, 'c')];
    db.gate = undefined;
    gate.resolve();
    expect(await Promise.all([first, ...later])).toEqual(['A', 'B', 'C']);
    expect(db.batches).toEqual([['a'], ['b', 'c']]);
  });

  it('resolves each write only after its batch commits', async () => {
    const { db, committer } = fakeDatabase();
    const gate = deferred();
    db.gate = gate.promise;
    let settled = false;
    const write = put(committer, 'a').then((value) => {
      settled = true;
      return value;
    });
    await db.started.promise;
    await nextTurn();
    expect(settled).toBe(false);
    expect(db.batches).toEqual([]);
    gate.resolve();
    expect(await write).toBe('A');
    expect(db.batches).toEqual([['a']]);
  });

  it('retries each write alone when a batch throws, so only the bad write rejects', async () => {
    const { db, committer } = fakeDatabase();
    const results = await Promise.allSettled([put(committer, 'a'), put(committer, 'throw-me'), put(committer, 'c')]);
    expect(results).toEqual([
      { status: 'fulfilled', value: 'A' },
      { status: 'rejected', reason: new Error('bad write throw-me') },
      { status: 'fulfilled', value: 'C' },
    ]);
    expect(db.batches).toEqual([['a'], ['c']]);
    expect(committer.stats).toEqual({ batches: 2, writes: 2 });
  });

  it('retries each write alone when the commit itself fails', async () => {
    const { db, committer } = fakeDatabase();
    const results = await Promise.allSettled([put(committer, 'a'), put(committer, 'reject-at-commit'), put(committer, 'c')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toEqual(new Error('constraint violated'));
    expect(db.batches).toEqual([['a'], ['c']]);
    expect(db.transactions).toBe(4); // the failed batch, then one per write
  });

  it('rejects a lone failing write without retrying it', async () => {
    const { db, committer } = fakeDatabase();
    await expect(put(committer, 'throw-alone')).rejects.toThrow('bad write throw-alone');
    expect(db.transactions).toBe(1);
    expect(db.batches).toEqual([]);
  });

  it('keeps committing after a failed batch', async () => {
    const { db, committer } = fakeDatabase();
    await put(committer, 'throw-x').catch(() => undefined);
    expect(await put(committer, 'after')).toBe('AFTER');
    expect(db.batches).toEqual([['after']]);
  });

  it('is idle at once when nothing was issued', async () => {
    const { db, committer } = fakeDatabase();
    await committer.idle();
    expect(db.transactions).toBe(0);
  });

  it('becomes idle only after every issued write has settled, across batches', async () => {
    const { db, committer } = fakeDatabase();
    const gate = deferred();
    db.gate = gate.promise;
    const settled: string[] = [];
    const track = (name: string) =>
      void put(committer, name).then(
        () => settled.push(name),
        () => settled.push(name),
      );
    track('a');
    await db.started.promise;
    track('b');
    track('throw-c');
    let idle = false;
    const idlePromise = committer.idle().then(() => (idle = true));
    await nextTurn();
    expect(idle).toBe(false);
    db.gate = undefined;
    gate.resolve();
    await idlePromise;
    expect(settled.sort()).toEqual(['a', 'b', 'throw-c']);
    expect(db.batches).toEqual([['a'], ['b']]);
  });
});
