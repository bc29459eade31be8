// `npm run schema:print`: writes schema.graphql from the Pothos schema. A test fails when
// the committed file drifts from the code.
import { writeFileSync } from 'node:fs';
import { printedSchema, schemaPath } from '../src/graphql/print.ts';

writeFileSync(schemaPath, printedSchema());
console.log(`Wrote ${schemaPath}`);
