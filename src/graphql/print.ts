import path from 'node:path';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from './schema/index.ts';

export const schemaPath = path.resolve(import.meta.dirname, '../../schema.graphql');

/** The schema as SDL, sorted so the committed file diffs cleanly. */
export function printedSchema(): string {
  return printSchema(lexicographicSortSchema(schema)) + '\n';
}
