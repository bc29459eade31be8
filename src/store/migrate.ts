// Applies pending migrations from prisma/migrations at start, recording them in
// _prisma_migrations exactly as `prisma migrate deploy` would (so a machine that has the
// Prisma CLI can use it on the same folder).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { noFilters, openSchemaEngine } from './schema-engine.ts';

export const prismaDir = path.resolve(import.meta.dirname, '../../prisma');
export const migrationsDir = path.join(prismaDir, 'migrations');

function loadMigrations(dir: string) {
  const lockPath = path.join(dir, 'migration_lock.toml');
  const migrationDirectories = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(dir, entry.name, 'migration.sql')))
    .map((entry) => entry.name)
    .sort()
    .map((name) => ({
      path: name,
      migrationFile: {
        path: 'migration.sql',
        content: { tag: 'ok' as const, value: readFileSync(path.join(dir, name, 'migration.sql'), 'utf8') },
      },
    }));
  return {
    baseDir: dir,
    lockfile: {
      path: 'migration_lock.toml',
      content: existsSync(lockPath) ? readFileSync(lockPath, 'utf8') : null,
    },
    shadowDbInitScript: '',
    migrationDirectories,
  };
}

/**
 * Wraps an adapter factory so every connection the engine opens can be closed afterwards
 * (freeing the engine does not close them, and SQLite would keep the file busy).
 */
function tracked(factory: SqlMigrationAwareDriverAdapterFactory) {
  const opened: SqlDriverAdapter[] = [];
  const track = async (connect: () => Promise<SqlDriverAdapter>) => {
    const adapter = await connect();
    opened.push(adapter);
    return adapter;
  };
  const wrapped: SqlMigrationAwareDriverAdapterFactory = {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: () => track(() => factory.connect()),
    connectToShadowDb: () => track(() => factory.connectToShadowDb()),
  };
  return { wrapped, closeAll: () => Promise.all(opened.map((adapter) => adapter.dispose())) };
}

/** Applies every migration not yet applied; returns the names it applied. */
export async function applyMigrations(factory: SqlMigrationAwareDriverAdapterFactory): Promise<string[]> {
  const schemaText = readFileSync(path.join(prismaDir, 'schema.prisma'), 'utf8');
  const { wrapped, closeAll } = tracked(factory);
  const engine = await openSchemaEngine(schemaText, wrapped);
  try {
    const out = await engine.applyMigrations({ migrationsList: loadMigrations(migrationsDir), filters: noFilters });
    return out.appliedMigrationNames;
  } finally {
    engine.free();
    await closeAll();
  }
}
