// The committed migrations match prisma/schema.prisma: `npm run migrate:new` finds nothing
// to write. (After a model change, run it to add the migration.)
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..');
const migrations = path.join(root, 'prisma/migrations');

describe('migrations', () => {
  it('are up to date with prisma/schema.prisma', () => {
    const before = readdirSync(migrations);
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/migrate-new.ts', '--check'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(out).toContain('nothing written');
    expect(readdirSync(migrations)).toEqual(before);
  });
});
