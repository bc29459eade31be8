// Prisma CLI configuration. The app itself never runs the CLI: it connects through a
// driver adapter and applies migrations with Prisma's WebAssembly schema engine
// (src/store/migrate.ts), so this file only serves `prisma generate/validate/format`.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
