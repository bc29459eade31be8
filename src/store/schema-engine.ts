// Loads Prisma's schema engine, published as WebAssembly (@prisma/schema-engine-wasm), so
// that migrations run without the native binary the Prisma CLI would download. The package
// is built for bundlers; in Node we instantiate its .wasm by hand.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as bg from '@prisma/schema-engine-wasm/schema_engine_bg';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';

// @types/node 20 does not declare the WebAssembly global; this is the little we use of it.
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, unknown>) => { exports: Record<string, unknown> };
};

let initialized = false;

function initWasm(): void {
  if (initialized) return;
  const require = createRequire(import.meta.url);
  // The package's exports hide the .wasm file: resolve the entry and take the file beside it.
  const wasmPath = path.join(path.dirname(require.resolve('@prisma/schema-engine-wasm')), 'schema_engine_bg.wasm');
  const module = new WebAssembly.Module(readFileSync(wasmPath));
  const instance = new WebAssembly.Instance(module, { './schema_engine_bg.js': bg });
  const exports = instance.exports as unknown as { __wbindgen_start(): void };
  (bg as unknown as { __wbg_set_wasm(e: unknown): void }).__wbg_set_wasm(exports);
  exports.__wbindgen_start();
  initialized = true;
}

/** A schema engine bound to a database through a driver adapter. */
export async function openSchemaEngine(
  schemaText: string,
  adapter: SqlMigrationAwareDriverAdapterFactory,
): Promise<SchemaEngine> {
  initWasm();
  const Engine = (bg as unknown as { SchemaEngine: typeof SchemaEngine }).SchemaEngine;
  return Engine.new(
    { datamodels: [['schema.prisma', schemaText]] },
    () => {},
    bindMigrationAwareSqlAdapterFactory(adapter),
  );
}

export const noFilters = { externalTables: [], externalEnums: [] };
