// Creates the Prisma client for the configured database and applies migrations.
// SQLite runs in WAL mode: readers never block the writer, and a commit is one append
// to the log. `synchronous=NORMAL` (default) keeps every commit across a process crash
// (SIGKILL); only an OS crash or power loss can drop the last commits. FULL fsyncs each
// commit and survives that too, at a cost (see README, "Durability").
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import Database from 'better-sqlite3';
import { PrismaClient } from '../generated/prisma/client.ts';
import type { Config } from '../config.ts';
import { applyMigrations } from './migrate.ts';

export type Db = InstanceType<typeof PrismaClient>;

export function sqlitePath(databaseUrl: string): string {
  return path.resolve(databaseUrl.slice('file:'.length));
}

/**
 * Opens the database: migrations first, then two clients on two connections. `writer` is
 * for the group committer alone; `db` serves every read. SQLite has one connection per
 * client, so a read on the writer's connection would run inside an open batch transaction
 * and could see changes that are not committed yet; in WAL mode a separate reader sees only
 * committed data.
 */
export async function openDatabase(config: Pick<Config, 'databaseUrl' | 'sqliteSynchronous'>): Promise<{
  db: Db;
  writer: Db;
  applied: string[];
}> {
  const file = sqlitePath(config.databaseUrl);
  mkdirSync(path.dirname(file), { recursive: true });
  // WAL is a property of the file: switch it once, before any other connection exists.
  const direct = new Database(file);
  direct.pragma('journal_mode = WAL');
  direct.close();
  const applied = await applyMigrations(new PrismaBetterSqlite3({ url: file }));
  const open = async () => {
    const client = new PrismaClient({ adapter: new PrismaBetterSqlite3({ url: file }) });
    await client.$executeRawUnsafe(`PRAGMA synchronous = ${config.sqliteSynchronous}`);
    await client.$executeRawUnsafe('PRAGMA foreign_keys = ON');
    return client;
  };
  return { db: await open(), writer: await open(), applied };
}
