// Group commit: writes issued while a commit is in progress (or in the same tick) are
// committed together in one transaction, so durability costs one commit per batch rather
// than one per write. Each write resolves only after its batch commits, and writes run
// in the order they were issued.
//
// States: idle (nothing queued) → scheduled (a flush is due on the next turn of the event
// loop) → flushing (a transaction is open; new writes wait for the next batch) → idle.

export type TransactionRunner<Tx> = <T>(work: (tx: Tx) => Promise<T>) => Promise<T>;

interface PendingWrite<Tx> {
  run(tx: Tx): Promise<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export class GroupCommitter<Tx> {
  private queue: PendingWrite<Tx>[] = [];
  private state: 'idle' | 'scheduled' | 'flushing' = 'idle';
  private drained: Array<() => void> = [];
  /** Batches committed and writes in them, for metrics and benchmarks. */
  readonly stats = { batches: 0, writes: 0 };

  constructor(private readonly transaction: TransactionRunner<Tx>) {}

  write<T>(run: (tx: Tx) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (value: unknown) => void, reject });
      if (this.state === 'idle') {
        this.state = 'scheduled';
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Resolves once every write issued so far has committed or failed. */
  idle(): Promise<void> {
    if (this.state === 'idle') return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  private async flush(): Promise<void> {
    this.state = 'flushing';
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      await this.commit(batch);
    }
    this.state = 'idle';
    for (const resolve of this.drained.splice(0)) resolve();
  }

  private async commit(batch: PendingWrite<Tx>[]): Promise<void> {
    try {
      const results = await this.transaction(async (tx) => {
        const out: unknown[] = [];
        for (const write of batch) out.push(await write.run(tx));
        return out;
      });
      this.stats.batches++;
      this.stats.writes += batch.length;
      batch.forEach((write, i) => write.resolve(results[i]));
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      // One bad write must not fail its neighbours: retry each in its own transaction.
      for (const write of batch) {
        try {
          write.resolve(await this.transaction((tx) => write.run(tx)));
          this.stats.batches++;
          this.stats.writes++;
        } catch (err) {
          write.reject(err);
        }
      }
    }
  }
}
