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

export async function openDatabase(config: Pick<Config, 'databaseUrl' | 'sqliteSynchronous'>): Promise<{
  db: Db;
  applied: string[];
}> {
  const file = sqlitePath(config.databaseUrl);
  mkdirSync(path.dirname(file), { recursive: true });
  // WAL is a property of the file: switch it once, before any other connection exists.
  const direct = new Database(file);
  direct.pragma('journal_mode = WAL');
  direct.close();
  const applied = await applyMigrations(new PrismaBetterSqlite3({ url: file }));
  const db = new PrismaClient({ adapter: new PrismaBetterSqlite3({ url: file }) });
  await db.$executeRawUnsafe(`PRAGMA synchronous = ${config.sqliteSynchronous}`);
  await db.$executeRawUnsafe('PRAGMA foreign_keys = ON');
  return { db, applied };
}
