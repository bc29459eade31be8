import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS (main) and ESM (module) builds. Node loads the CJS one for the
    // libraries; Vite would hand our own code the ESM one, and two copies of graphql break
    // `instanceof GraphQLError`. Resolve it exactly as Node does in production.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration files each start real servers and child processes: two at a time suits 2 cores.
    maxWorkers: 2,
  },
});
