// Runs `prisma generate` on install (the npm `postinstall` script).
//
// Why a wrapper: the Prisma CLI first tries to download its native schema-engine binary,
// and on machines without that CDN the download fails. Generation does not need the
// engine, and the CLI skips the download when PRISMA_SCHEMA_ENGINE_BINARY names an
// existing file. We set it for this one command only: with it set, `prisma migrate`
// would silently apply nothing, which is why the app migrates through the WebAssembly
// engine instead (src/store/migrate.ts).
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const result = spawnSync('npx', ['--no-install', 'prisma', ...(args.length ? args : ['generate'])], {
  stdio: 'inherit',
  env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
});
process.exit(result.status ?? 1);
